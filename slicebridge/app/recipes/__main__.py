# SPDX-License-Identifier: GPL-2.0-only
"""``python -m slicebridge.app.recipes NAME ...``: the same as ``slicebridge recipe NAME ...``."""

from slicebridge.app.recipes import main

raise SystemExit(main())
