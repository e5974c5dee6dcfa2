import Base
import Testing

/// SHA-256 against FIPS 180-4 / NIST example vectors, and the helpers beside it.
struct SHA256Tests {
    @Test func knownVectors() {
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // One million 'a' (many blocks).
        #expect(Hex.encode(SHA256.digest([UInt8](repeating: 0x61, count: 1_000_000))) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        // Lengths around the padding boundary (55, 56, 64 bytes) differ from each other.
        let d = [55, 56, 63, 64, 65].map { SHA256.hex(String(repeating: "x", count: $0)) }
        #expect(Set(d).count == 5 && d.allSatisfy { $0.count == 64 })
    }

    @Test func base64URLAndHex() {
        #expect(Base64URL.encode(Array("f".utf8)) == "Zg" && Base64URL.encode(Array("fo".utf8)) == "Zm8" && Base64URL.encode(Array("foo".utf8)) == "Zm9v")
        #expect(Base64URL.encode([0xfb, 0xff]) == "-_8")
        #expect(Base64URL.isValid("abc-_") && !Base64URL.isValid("ab+/") && !Base64URL.isValid("a b"))
        #expect(Hex.isHex("00ff", length: 4) && Hex.isHex("00FF", length: 4) && !Hex.isHex("00fg", length: 4) && !Hex.isHex("00f", length: 4))
        #expect(SHA256.constantTimeEquals([1, 2], [1, 2]) && !SHA256.constantTimeEquals([1, 2], [1, 3]) && !SHA256.constantTimeEquals([1], [1, 2]))
    }
}
