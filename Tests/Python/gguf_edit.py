"""Copies of GGUF files with some metadata changed, for the tests that feed the server files made to be wrong.

`copy_with(src, dst, {"llama.block_count": (2**63 - 1, GGUFValueType.UINT64)})` writes dst with every key and
tensor of src, the listed keys set (or added) with the given type. Keys that gguf-py's writer sets by itself
(`general.architecture`, the alignment) are carried over through it.
"""
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter


def copy_with(src: Path, dst: Path, overrides: dict) -> Path:
    reader = GGUFReader(str(src))
    architecture = reader.fields["general.architecture"].contents()
    writer = GGUFWriter(str(dst), architecture)
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture" or name in overrides:
            continue
        vtype = field.types[0]
        if vtype == GGUFValueType.ARRAY and not field.data:
            continue   # gguf-py writes no empty arrays; a missing key reads the same
        sub_type = field.types[1] if vtype == GGUFValueType.ARRAY and len(field.types) > 1 else None
        writer.add_key_value(name, field.contents(), vtype, sub_type=sub_type)
    for name, (value, vtype) in overrides.items():
        if name == "general.architecture":
            continue
        sub_type = None
        if vtype == GGUFValueType.ARRAY:
            value, sub_type = value
        writer.add_key_value(name, value, vtype, sub_type=sub_type)
    for tensor in reader.tensors:
        # The reader gives each tensor in numpy order; a quantised one as rows of bytes, which the writer turns
        # back into elements when told the type.
        data = np.asarray(tensor.data)
        if tensor.tensor_type in (GGMLQuantizationType.F32, GGMLQuantizationType.F16):
            writer.add_tensor(tensor.name, data)
        else:
            writer.add_tensor(tensor.name, data, raw_dtype=tensor.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return dst
