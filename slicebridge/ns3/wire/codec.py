# SPDX-License-Identifier: GPL-2.0-only
"""Gymnasium spaces and values ⇄ the ns3opengym protobuf messages (one path: the generated ``pb``).

``space_to_pb`` / ``space_from_pb`` map ``Discrete``, ``Box``, ``Tuple`` and ``Dict`` spaces to
``SpaceDescription`` and back; ``data_to_pb`` / ``data_from_pb`` map ints, NumPy arrays, tuples and
dicts to ``DataContainer`` and back; ``conform`` casts a decoded value to a space (what a
Gymnasium env returns). Unlike the reference ns3-gym client this codec keeps

* Box shapes (also on data: arrays come back with their shape, not flattened),
* Box bounds (the wire carries one float32 ``low``/``high`` per Box; a decoded bound is the shortest
  decimal that float32 rounds to that value, so 0.1 stays 0.1, and ±inf stay infinite),
* dtypes: float64 travels as ``doubleData`` (``DOUBLE``), float32/float16 as ``floatData``, signed
  ints as ``intData`` (int32) and unsigned ints and bools as ``uintData`` (uint32).

What the protocol cannot carry raises :class:`WireError` instead of being silently changed: Box
bounds that differ per element, integers outside 32 bits, unsupported spaces or dtypes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from gymnasium import spaces

from slicebridge.ns3.wire import ns3opengym_pb2 as pb


class WireError(ValueError):
    """A value or space that the ns3opengym protocol cannot represent, or a malformed message."""


# Wire dtype -> NumPy dtype of decoded arrays, and the BoxDataContainer field that carries it.
_NP_OF_WIRE = {pb.INT: np.dtype(np.int32), pb.UINT: np.dtype(np.uint32), pb.FLOAT: np.dtype(np.float32), pb.DOUBLE: np.dtype(np.float64)}
_FIELD_OF_WIRE = {pb.INT: "intData", pb.UINT: "uintData", pb.FLOAT: "floatData", pb.DOUBLE: "doubleData"}
_SPACE_TYPES = "supported: Discrete, Box, Tuple, Dict"


def wire_dtype(dtype: Any) -> int:
    """The ns3opengym ``Dtype`` that carries NumPy ``dtype`` without loss."""
    dt = np.dtype(dtype)
    if dt == np.float64:
        return pb.DOUBLE
    if dt.kind == "f" and dt.itemsize <= 4:
        return pb.FLOAT
    if dt.kind == "i":
        return pb.INT
    if dt.kind in "ub":
        return pb.UINT
    raise WireError(f"dtype {dt} has no ns3opengym Dtype (supported: int*, uint*, bool, float16/32/64)")


def numpy_dtype(wire: int) -> np.dtype:
    """The NumPy dtype of arrays decoded from wire ``Dtype`` (NoDType is read as float32, as ns3-gym does)."""
    return _NP_OF_WIRE.get(wire, np.dtype(np.float32))


def _bound_from_wire(value: float) -> float:
    """Undo the float32 rounding of a bound: the shortest decimal that float32 maps to ``value``."""
    return float(str(np.float32(value)))


def _scalar_bound(bound: np.ndarray, which: str) -> float:
    flat = np.asarray(bound).reshape(-1)
    if flat.size == 0:
        return 0.0
    if not np.all(flat == flat[0]):
        raise WireError(f"Box {which} bound differs per element; ns3opengym BoxSpace carries one scalar {which}")
    return float(flat[0])


def _unpack(any_msg, cls, what: str):
    msg = cls()
    if not any_msg.Unpack(msg):
        raise WireError(f"expected an Any holding ns3opengym.{what}, got type URL {any_msg.type_url!r}")
    return msg


def _int32(value: int, what: str) -> int:
    if not -(2**31) <= value < 2**31:
        raise WireError(f"{what} {value} does not fit the protocol's int32")
    return value


# ----------------------------------------------------------------------------------------------
# Spaces
# ----------------------------------------------------------------------------------------------
def space_to_pb(space: spaces.Space, name: str = "") -> pb.SpaceDescription:
    """The ``SpaceDescription`` of ``space`` (``name``: its key inside a Dict)."""
    desc = pb.SpaceDescription(name=name)
    if isinstance(space, spaces.Discrete):
        if int(space.start) != 0:
            raise WireError(f"Discrete space with start={space.start}: ns3opengym DiscreteSpace starts at 0")
        desc.type = pb.Discrete
        desc.space.Pack(pb.DiscreteSpace(n=_int32(int(space.n), "Discrete.n")))
    elif isinstance(space, spaces.Box):
        desc.type = pb.Box
        desc.space.Pack(pb.BoxSpace(
            low=_scalar_bound(space.low, "low"),
            high=_scalar_bound(space.high, "high"),
            dtype=wire_dtype(space.dtype),
            shape=[int(d) for d in space.shape],
        ))
    elif isinstance(space, spaces.Tuple):
        desc.type = pb.Tuple
        desc.space.Pack(pb.TupleSpace(element=[space_to_pb(s) for s in space.spaces]))
    elif isinstance(space, spaces.Dict):
        desc.type = pb.Dict
        desc.space.Pack(pb.DictSpace(element=[space_to_pb(s, str(k)) for k, s in space.spaces.items()]))
    else:
        raise WireError(f"{type(space).__name__} has no ns3opengym SpaceType ({_SPACE_TYPES})")
    return desc


def space_from_pb(desc: pb.SpaceDescription) -> spaces.Space | None:
    """The Gymnasium space of a description; ``None`` for ``NoSpaceType`` (an unset space).

    Integer Box bounds are clipped to the dtype's range (an infinite bound becomes its end)."""
    if desc.type == pb.NoSpaceType:
        return None
    if desc.type == pb.Discrete:
        return spaces.Discrete(_unpack(desc.space, pb.DiscreteSpace, "DiscreteSpace").n)
    if desc.type == pb.Box:
        msg = _unpack(desc.space, pb.BoxSpace, "BoxSpace")
        dtype = numpy_dtype(msg.dtype)
        if dtype.kind in "iu":
            info = np.iinfo(dtype)
            low = int(np.clip(msg.low, info.min, info.max)) if np.isfinite(msg.low) else int(info.min)
            high = int(np.clip(msg.high, info.min, info.max)) if np.isfinite(msg.high) else int(info.max)
        else:
            low, high = _bound_from_wire(msg.low), _bound_from_wire(msg.high)
        return spaces.Box(low=low, high=high, shape=tuple(msg.shape), dtype=dtype)
    if desc.type == pb.Tuple:
        msg = _unpack(desc.space, pb.TupleSpace, "TupleSpace")
        return spaces.Tuple(tuple(space_from_pb(e) for e in msg.element))
    if desc.type == pb.Dict:
        msg = _unpack(desc.space, pb.DictSpace, "DictSpace")
        return spaces.Dict({e.name: space_from_pb(e) for e in msg.element})
    raise WireError(f"unknown SpaceType {desc.type}")


# ----------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------
def data_to_pb(value: Any, space: spaces.Space | None = None, name: str = "") -> pb.DataContainer:
    """Encode ``value``; with ``space`` the value is checked against (and cast to) that space.

    Without a space: Python/NumPy integer scalars become Discrete, arrays, floats and bools Box
    (keeping their dtype), tuples Tuple, mappings Dict.
    """
    dc = pb.DataContainer(name=name)
    if space is None:
        _encode_inferred(dc, value)
    elif isinstance(space, spaces.Discrete):
        v = np.asarray(value)
        if v.shape != () or v.dtype.kind not in "iub":
            raise WireError(f"Discrete value must be an integer scalar, got {value!r}")
        _pack_discrete(dc, int(v))
    elif isinstance(space, spaces.Box):
        arr = np.asarray(value)
        if arr.shape != space.shape:
            raise WireError(f"Box value has shape {arr.shape}, the space has shape {space.shape}")
        _pack_box(dc, arr.astype(space.dtype, copy=False))
    elif isinstance(space, spaces.Tuple):
        if not isinstance(value, (tuple, list)) or len(value) != len(space.spaces):
            raise WireError(f"Tuple value must be a sequence of {len(space.spaces)} elements, got {type(value).__name__}")
        _pack_elements(dc, pb.Tuple, [data_to_pb(v, s) for v, s in zip(value, space.spaces)])
    elif isinstance(space, spaces.Dict):
        if not hasattr(value, "keys") or set(value.keys()) != set(space.spaces.keys()):
            got = sorted(value.keys()) if hasattr(value, "keys") else type(value).__name__
            raise WireError(f"Dict value keys {got} do not match the space keys {sorted(space.spaces.keys())}")
        _pack_elements(dc, pb.Dict, [data_to_pb(value[k], s, str(k)) for k, s in space.spaces.items()])
    else:
        raise WireError(f"{type(space).__name__} has no ns3opengym SpaceType ({_SPACE_TYPES})")
    return dc


def _encode_inferred(dc: pb.DataContainer, value: Any) -> None:
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        _pack_discrete(dc, int(value))
    elif hasattr(value, "items"):
        _pack_elements(dc, pb.Dict, [data_to_pb(v, None, str(k)) for k, v in value.items()])
    elif isinstance(value, tuple):
        _pack_elements(dc, pb.Tuple, [data_to_pb(v) for v in value])
    else:
        arr = np.asarray(value)
        if arr.dtype == object:
            raise WireError(f"cannot encode {type(value).__name__} as ns3opengym data")
        _pack_box(dc, arr)


def _pack_discrete(dc: pb.DataContainer, value: int) -> None:
    dc.type = pb.Discrete
    dc.data.Pack(pb.DiscreteDataContainer(data=_int32(value, "Discrete value")))


def _pack_elements(dc: pb.DataContainer, kind: int, elements: list[pb.DataContainer]) -> None:
    dc.type = kind
    dc.data.Pack((pb.TupleDataContainer if kind == pb.Tuple else pb.DictDataContainer)(element=elements))


def _pack_box(dc: pb.DataContainer, arr: np.ndarray) -> None:
    wire = wire_dtype(arr.dtype)
    flat = arr.reshape(-1)
    if wire in (pb.INT, pb.UINT):
        info = np.iinfo(np.int32 if wire == pb.INT else np.uint32)
        if flat.size and (flat.min() < info.min or flat.max() > info.max):
            raise WireError(f"integer Box values outside {np.dtype(info.dtype)} range cannot travel as {pb.Dtype.Name(wire)}")
        flat = flat.astype(np.int64)
    box = pb.BoxDataContainer(dtype=wire, shape=[int(d) for d in arr.shape])
    getattr(box, _FIELD_OF_WIRE[wire]).extend(flat.tolist())
    dc.type = pb.Box
    dc.data.Pack(box)


def data_from_pb(dc: pb.DataContainer) -> Any:
    """Decode a container: Discrete → int, Box → ndarray (shape and dtype kept), Tuple → tuple,
    Dict → dict (in message order); ``None`` for an empty (NoSpaceType) container."""
    kind = dc.type
    if kind == pb.Box:
        return _box_from_pb(_unpack(dc.data, pb.BoxDataContainer, "BoxDataContainer"))
    if kind == pb.Dict:
        return {e.name: data_from_pb(e) for e in _unpack(dc.data, pb.DictDataContainer, "DictDataContainer").element}
    if kind == pb.Tuple:
        return tuple(data_from_pb(e) for e in _unpack(dc.data, pb.TupleDataContainer, "TupleDataContainer").element)
    if kind == pb.Discrete:
        return int(_unpack(dc.data, pb.DiscreteDataContainer, "DiscreteDataContainer").data)
    if kind == pb.NoSpaceType:
        return None
    raise WireError(f"unknown DataContainer type {kind}")


def _box_from_pb(box: pb.BoxDataContainer) -> np.ndarray:
    """The values of ``box`` as an array of its shape; without a shape flat (a 0-d array for one
    value), as the reference C++ end may send them."""
    values = np.array(getattr(box, _FIELD_OF_WIRE.get(box.dtype, "floatData")), dtype=numpy_dtype(box.dtype))
    shape = tuple(box.shape)
    if not shape:
        return values if values.size != 1 else values.reshape(())
    if math.prod(shape) != values.size:
        raise WireError(f"BoxDataContainer shape {list(shape)} needs {math.prod(shape)} values, got {values.size}")
    return values.reshape(shape)


def conform(value: Any, space: spaces.Space | None, where: str = "value") -> Any:
    """``value`` (as decoded by :func:`data_from_pb`) cast to ``space``: Box arrays to the space's
    dtype and shape (a flat array of the right size is reshaped, as ns3-gym scripts often send),
    Discrete to ``int``, Tuple to ``tuple`` and Dict to ``dict`` in the space's key order.
    Raises :class:`WireError` naming ``where`` when the structure or size does not fit; the
    values themselves are not clipped (``space.contains`` is the caller's check)."""
    if space is None:
        return value
    if isinstance(space, spaces.Box):
        arr = np.asarray(value)
        if arr.dtype == object or arr.size != math.prod(space.shape):
            raise WireError(f"{where}: got {arr.size} value(s) of shape {arr.shape}, the space is {space}")
        return arr.astype(space.dtype, copy=False).reshape(space.shape)
    if isinstance(space, spaces.Discrete):
        if isinstance(value, np.ndarray) and value.size == 1:
            value = value.reshape(()).item()
        if not isinstance(value, (int, np.integer)):
            raise WireError(f"{where}: got {type(value).__name__}, the space is {space}")
        return int(value)
    if isinstance(space, spaces.Tuple):
        if not isinstance(value, tuple) or len(value) != len(space.spaces):
            raise WireError(f"{where}: got {type(value).__name__}, the space is a Tuple of {len(space.spaces)}")
        return tuple(conform(v, s, f"{where}[{i}]") for i, (v, s) in enumerate(zip(value, space.spaces)))
    if isinstance(space, spaces.Dict):
        if not isinstance(value, dict) or set(value) != set(space.spaces):
            got = sorted(value) if isinstance(value, dict) else type(value).__name__
            raise WireError(f"{where}: got keys {got}, the space has {sorted(space.spaces)}")
        return {k: conform(value[k], s, f"{where}[{k!r}]") for k, s in space.spaces.items()}
    raise WireError(f"{where}: {type(space).__name__} has no ns3opengym SpaceType ({_SPACE_TYPES})")
