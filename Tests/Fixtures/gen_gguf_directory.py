"""GGUF directory fixtures: what the reference reader (gguf-py) sees in each model file.

For each model present in models/, writes generated/gguf_directory_<file stem>.json with the header
counts, every metadata key in file order (scalars in full; arrays as element type, count, the first
and last few elements and a checksum) and every tensor's name, type id, dimensions, relative
offset, byte count and first data bytes. GGUFTests compares Raconteur's reader against it.
"""
import json, math, os

MODELS = ["SmolLM2-135M-Instruct.Q4_1.gguf", "gemma-3-270m-q4_k_m.gguf"]
EDGE = 3  # array elements kept from each end


def _scalar(value):
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value


def _metadata_entry(name, field):
    import gguf
    types = [gguf.GGUFValueType(t).name.lower() for t in field.types]
    contents = field.contents()
    entry = {"key": name, "type": types[0]}
    if types[0] != "array":
        entry["value"] = _scalar(contents)
        return entry
    entry["element_type"] = types[1] if len(types) > 1 else "uint8"
    entry["count"] = len(field.data)
    entry["head"] = [_scalar(v) for v in contents[:EDGE]]
    entry["tail"] = [_scalar(v) for v in contents[-EDGE:]] if contents else []
    if entry["element_type"] == "string":
        entry["utf8_bytes"] = sum(len(s.encode("utf-8")) for s in contents)
    elif entry["element_type"] != "array":
        entry["sum"] = float(sum(float(v) for v in contents))
    return entry


def directory(path):
    import gguf
    reader = gguf.GGUFReader(path)
    header = {name: int(reader.fields[name].contents()) for name in ("GGUF.version", "GGUF.tensor_count", "GGUF.kv_count")}
    return {
        "version": header["GGUF.version"],
        "tensor_count": header["GGUF.tensor_count"],
        "kv_count": header["GGUF.kv_count"],
        "alignment": int(reader.alignment),
        "data_offset": int(reader.data_offset),
        "metadata": [_metadata_entry(name, field) for name, field in reader.fields.items() if not name.startswith("GGUF.")],
        "tensors": [
            {
                "name": t.name,
                "type": int(t.tensor_type),
                "dims": [int(d) for d in t.shape],
                "offset": int(t.data_offset) - int(reader.data_offset),
                "n_bytes": int(t.n_bytes),
                "first_bytes": t.data.view("uint8").reshape(-1)[:16].tobytes().hex(),
            }
            for t in reader.tensors
        ],
    }


def generate(out_dir):
    models_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models")
    for file_name in MODELS:
        path = os.path.join(models_dir, file_name)
        if not os.path.exists(path):
            continue
        stem = file_name[: -len(".gguf")]
        out_path = os.path.join(out_dir, f"gguf_directory_{stem}.json")
        # gguf-py takes about a minute on the 262k-token vocabulary: regenerate only when stale.
        if os.path.exists(out_path) and os.path.getmtime(out_path) >= max(os.path.getmtime(path), os.path.getmtime(__file__)):
            continue
        with open(out_path + ".partial", "w") as out:
            json.dump(directory(path), out, indent=1, ensure_ascii=False)
        os.replace(out_path + ".partial", out_path)
