# SPDX-License-Identifier: GPL-2.0-only
"""The application layer: evaluation, comparison, calibration, reports, recipes and the CLI."""
