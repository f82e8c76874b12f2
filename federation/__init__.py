"""Federation layer: strategies over plain arrays, FedProx hooks, compression, checkpoints."""

from slicebridge.federation.fedprox import ProximalTerm
from slicebridge.federation.params import (
    CODECS,
    UpdateValidator,
    compress_params,
    decode_update,
    encode_update,
    params_nbytes,
)
from slicebridge.federation.server import FederatedServer, RoundRecord, run_federated
from slicebridge.federation.strategies import (
    STRATEGIES,
    FedAvg,
    FedMedian,
    FedProx,
    FedTrimmedMean,
    FitRes,
    Strategy,
    SuccessWeighted,
    Uniform,
    make_strategy,
)

__all__ = [
    "CODECS",
    "STRATEGIES",
    "FedAvg",
    "FedMedian",
    "FedProx",
    "FedTrimmedMean",
    "FederatedServer",
    "FitRes",
    "ProximalTerm",
    "RoundRecord",
    "Strategy",
    "SuccessWeighted",
    "Uniform",
    "UpdateValidator",
    "compress_params",
    "decode_update",
    "encode_update",
    "make_strategy",
    "params_nbytes",
    "run_federated",
]
