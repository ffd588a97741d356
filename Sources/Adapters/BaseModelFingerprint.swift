import GGUF

/// A cheap identity for a base model file: FNV-1a 64 over its architecture, its tensor directory (names,
/// types, shapes) and the first and last 256 bytes of every tensor. It tells models apart; it is not a
/// defence against a crafted file.
public enum BaseModelFingerprint {
    public static func of(_ file: GGUFFile) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ bytes: some Sequence<UInt8>) {
            for b in bytes {
                hash ^= UInt64(b)
                hash &*= 0x0000_0100_0000_01b3
            }
        }
        mix((try? file.architecture)?.utf8 ?? "".utf8)
        for t in file.tensors {
            mix(t.name.utf8)
            mix(String(t.type.rawValue).utf8)
            for d in t.dimensions { mix(String(d).utf8) }
            let bytes = file.bytes(for: t)
            mix(bytes.prefix(256))
            mix(bytes.suffix(256))
        }
        return "fnv1a64:" + String(hash, radix: 16)
    }
}
