"""Gymnasium spaces and values ⇄ the ns3opengym protobuf messages.

``space_to_pb`` / ``space_from_pb`` map ``Discrete``, ``Box``, ``Tuple`` and ``Dict`` spaces to
``SpaceDescription`` and back; ``data_to_pb`` / ``data_from_pb`` map ints, NumPy arrays, tuples and
dicts to ``DataContainer`` and back. Unlike the reference ns3-gym client this codec keeps

* Box shapes (also on data: arrays come back with their shape, not flattened),
* Box bounds (the wire carries one float32 ``low``/``high`` per Box; a decoded bound is the shortest
  decimal that float32 rounds to that value, so 0.1 stays 0.1, and ±inf stay infinite),
* dtypes: float64 travels as ``doubleData`` (``DOUBLE``), float32/float16 as ``floatData``, signed
  ints as ``intData`` (int32) and unsigned ints as ``uintData`` (uint32).

What the protocol cannot carry raises :class:`WireError` instead of being silently changed: Box
bounds that differ per element, integers outside 32 bits, unsupported spaces or dtypes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from gymnasium import spaces

from bridge.wire import ns3opengym_pb2 as pb


class WireError(ValueError):
    """A value or space that the ns3opengym protocol cannot represent, or a malformed message."""


# Wire dtype -> NumPy dtype of decoded arrays, and the BoxDataContainer field that carries it.
_NP_OF_WIRE = {pb.INT: np.dtype(np.int32), pb.UINT: np.dtype(np.uint32), pb.FLOAT: np.dtype(np.float32), pb.DOUBLE: np.dtype(np.float64)}
_FIELD_OF_WIRE = {pb.INT: "intData", pb.UINT: "uintData", pb.FLOAT: "floatData", pb.DOUBLE: "doubleData"}
# Packed fixed-width fields written straight from array bytes (tag = field number << 3 | 2).
_PACKED_TAG = {pb.FLOAT: (b"\x2a", "<f4"), pb.DOUBLE: (b"\x32", "<f8")}


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


# ----------------------------------------------------------------------------------------------
# Spaces
# ----------------------------------------------------------------------------------------------
def space_to_pb(space: spaces.Space, name: str = "") -> pb.SpaceDescription:
    desc = pb.SpaceDescription(name=name)
    if isinstance(space, spaces.Discrete):
        if int(space.start) != 0:
            raise WireError(f"Discrete space with start={space.start}: ns3opengym DiscreteSpace starts at 0")
        desc.type = pb.Discrete
        desc.space.Pack(pb.DiscreteSpace(n=_int32(int(space.n), "Discrete.n")))
    elif isinstance(space, spaces.Box):
        box = pb.BoxSpace(
            low=_scalar_bound(space.low, "low"),
            high=_scalar_bound(space.high, "high"),
            dtype=wire_dtype(space.dtype),
            shape=[int(d) for d in space.shape],
        )
        desc.type = pb.Box
        desc.space.Pack(box)
    elif isinstance(space, spaces.Tuple):
        desc.type = pb.Tuple
        desc.space.Pack(pb.TupleSpace(element=[space_to_pb(s) for s in space.spaces]))
    elif isinstance(space, spaces.Dict):
        desc.type = pb.Dict
        desc.space.Pack(pb.DictSpace(element=[space_to_pb(s, str(k)) for k, s in space.spaces.items()]))
    else:
        raise WireError(f"{type(space).__name__} has no ns3opengym SpaceType (supported: Discrete, Box, Tuple, Dict)")
    return desc


def space_from_pb(desc: pb.SpaceDescription) -> spaces.Space | None:
    """The Gymnasium space of a description; ``None`` for ``NoSpaceType`` (an unset space)."""
    if desc.type == pb.NoSpaceType:
        return None
    if desc.type == pb.Discrete:
        msg = _unpack(desc.space, pb.DiscreteSpace, "DiscreteSpace")
        return spaces.Discrete(msg.n)
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

    Without a space: Python/NumPy integer scalars become Discrete, arrays and floats Box (keeping
    their dtype), tuples/lists of containers Tuple, mappings Dict.
    """
    dc = pb.DataContainer(name=name)
    if space is not None:
        _encode_with_space(dc, value, space)
    else:
        _encode_inferred(dc, value)
    return dc


def _encode_with_space(dc: pb.DataContainer, value: Any, space: spaces.Space) -> None:
    if isinstance(space, spaces.Discrete):
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
        msg = pb.TupleDataContainer(element=[data_to_pb(v, s) for v, s in zip(value, space.spaces)])
        dc.type = pb.Tuple
        dc.data.Pack(msg)
    elif isinstance(space, spaces.Dict):
        if not hasattr(value, "keys") or set(value.keys()) != set(space.spaces.keys()):
            got = sorted(value.keys()) if hasattr(value, "keys") else type(value).__name__
            raise WireError(f"Dict value keys {got} do not match the space keys {sorted(space.spaces.keys())}")
        msg = pb.DictDataContainer(element=[data_to_pb(value[k], s, str(k)) for k, s in space.spaces.items()])
        dc.type = pb.Dict
        dc.data.Pack(msg)
    else:
        raise WireError(f"{type(space).__name__} has no ns3opengym SpaceType (supported: Discrete, Box, Tuple, Dict)")


def _encode_inferred(dc: pb.DataContainer, value: Any) -> None:
    if isinstance(value, (bool, np.bool_)):
        _pack_box(dc, np.asarray(value))
    elif isinstance(value, (int, np.integer)):
        _pack_discrete(dc, int(value))
    elif isinstance(value, dict) or hasattr(value, "items"):
        msg = pb.DictDataContainer(element=[data_to_pb(v, None, str(k)) for k, v in value.items()])
        dc.type = pb.Dict
        dc.data.Pack(msg)
    elif isinstance(value, tuple):
        msg = pb.TupleDataContainer(element=[data_to_pb(v) for v in value])
        dc.type = pb.Tuple
        dc.data.Pack(msg)
    else:
        arr = np.asarray(value)
        if arr.dtype == object:
            raise WireError(f"cannot encode {type(value).__name__} as ns3opengym data")
        _pack_box(dc, arr)


def _pack_discrete(dc: pb.DataContainer, value: int) -> None:
    dc.type = pb.Discrete
    dc.data.Pack(pb.DiscreteDataContainer(data=_int32(value, "Discrete value")))


def _pack_box(dc: pb.DataContainer, arr: np.ndarray) -> None:
    wire = wire_dtype(arr.dtype)
    box = pb.BoxDataContainer(dtype=wire, shape=[int(d) for d in arr.shape])
    flat = arr.reshape(-1)
    if wire in _PACKED_TAG:
        # Packed fixed-width repeated field written from the array's bytes: same wire format as
        # extend(list), ~15x faster for thousands of values.
        tag, le = _PACKED_TAG[wire]
        raw = flat.astype(le, copy=False).tobytes()
        if raw:
            box.MergeFromString(tag + _varint(len(raw)) + raw)
    else:
        info = np.iinfo(np.int32 if wire == pb.INT else np.uint32)
        if flat.size and (flat.min() < info.min or flat.max() > info.max):
            raise WireError(f"integer Box values outside {np.dtype(info.dtype)} range cannot travel as {pb.Dtype.Name(wire)}")
        getattr(box, _FIELD_OF_WIRE[wire]).extend(flat.astype(np.int64).tolist())
    dc.type = pb.Box
    dc.data.Pack(box)


_BOX, _DISCRETE, _TUPLE, _DICT, _NONE = pb.Box, pb.Discrete, pb.Tuple, pb.Dict, pb.NoSpaceType
_BOX_URL = "type.googleapis.com/ns3opengym.BoxDataContainer"
_BOX_FROM = pb.BoxDataContainer.FromString


def data_from_pb(dc: pb.DataContainer) -> Any:
    """Decode a container: Discrete → int, Box → ndarray (shape and dtype kept), Tuple → tuple,
    Dict → dict (in message order); ``None`` for an empty (NoSpaceType) container."""
    kind = dc.type
    if kind == _BOX:
        return _box_from_pb(dc.data)
    if kind == _DICT:
        return {e.name: data_from_pb(e) for e in _unpack(dc.data, pb.DictDataContainer, "DictDataContainer").element}
    if kind == _TUPLE:
        return tuple(data_from_pb(e) for e in _unpack(dc.data, pb.TupleDataContainer, "TupleDataContainer").element)
    if kind == _DISCRETE:
        return int(_unpack(dc.data, pb.DiscreteDataContainer, "DiscreteDataContainer").data)
    if kind == _NONE:
        return None
    raise WireError(f"unknown DataContainer type {kind}")


def _box_from_pb(any_msg) -> np.ndarray:
    if any_msg.type_url != _BOX_URL:
        box = _unpack(any_msg, pb.BoxDataContainer, "BoxDataContainer")  # raises with the URL named
    else:
        raw = any_msg.value
        fast = _box_from_bytes(raw)
        if fast is not None:
            return fast
        box = _BOX_FROM(raw)
    wire = box.dtype
    if wire == pb.DOUBLE:
        values = np.array(box.doubleData, dtype=np.float64)
    else:
        values = np.array(getattr(box, _FIELD_OF_WIRE.get(wire, "floatData")), dtype=numpy_dtype(wire))
    shape = tuple(box.shape)
    if not shape:
        return values if values.size != 1 else values.reshape(())
    if math.prod(shape) != values.size:
        raise WireError(f"BoxDataContainer shape {list(shape)} needs {math.prod(shape)} values, got {values.size}")
    return values.reshape(shape)


_FIXED_DATA = {5: (pb.FLOAT, "<f4", np.float32, 4), 6: (pb.DOUBLE, "<f8", np.float64, 8)}


def _box_from_bytes(buf: bytes) -> np.ndarray | None:
    """Fast path for the common BoxDataContainer layout: dtype, packed shape and packed float or
    double data, read straight into NumPy. ``None`` for anything else (the caller then uses the
    protobuf runtime, which handles every valid encoding)."""
    pos, end = 0, len(buf)
    wire, shape, data = 0, [], None
    try:
        while pos < end:
            tag = buf[pos]
            pos += 1
            if tag == 0x08:  # field 1 (dtype), varint
                wire, pos = _read_varint(buf, pos)
            elif tag == 0x12:  # field 2 (shape), packed varints
                length, pos = _read_varint(buf, pos)
                stop = pos + length
                while pos < stop:
                    dim, pos = _read_varint(buf, pos)
                    shape.append(dim)
            elif tag == 0x10:  # field 2, unpacked
                dim, pos = _read_varint(buf, pos)
                shape.append(dim)
            elif tag in (0x2A, 0x32):  # field 5 (floatData) / 6 (doubleData), packed
                length, pos = _read_varint(buf, pos)
                data = (tag >> 3, pos, length)
                pos += length
            else:
                return None
    except IndexError:
        return None
    if pos != end:
        return None
    if data is None:
        if wire in _FIXED_DATA_BY_WIRE:
            data = (_FIXED_DATA_BY_WIRE[wire], 0, 0)
        else:
            return None
    expected_wire, little, dtype, size = _FIXED_DATA[data[0]]
    if wire != expected_wire or data[2] % size:
        return None
    values = np.frombuffer(buf, dtype=little, count=data[2] // size, offset=data[1]).astype(dtype)
    if not shape:
        final_shape = None if values.size != 1 else ()
    elif math.prod(shape) != values.size:
        raise WireError(f"BoxDataContainer shape {shape} needs {math.prod(shape)} values, got {values.size}")
    else:
        final_shape = tuple(shape)
    return values.reshape(final_shape) if final_shape is not None else values


_FIXED_DATA_BY_WIRE = {pb.FLOAT: 5, pb.DOUBLE: 6}


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    byte = buf[pos]
    if byte < 0x80:
        return byte, pos + 1
    result, shift = 0, 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


# ----------------------------------------------------------------------------------------------
def _unpack(any_msg, cls, what: str):
    msg = cls()
    if not any_msg.Unpack(msg):
        raise WireError(f"expected an Any holding ns3opengym.{what}, got type URL {any_msg.type_url!r}")
    return msg


def _int32(value: int, what: str) -> int:
    if not -(2**31) <= value < 2**31:
        raise WireError(f"{what} {value} does not fit the protocol's int32")
    return value


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        if n:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)
