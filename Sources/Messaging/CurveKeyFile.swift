import CZeroMQ
#if canImport(Glibc)
import Glibc
#endif

/// CURVE keys in files: a secret key in a file only its owner may read or write (mode 0600), a
/// public key in a file anyone may read (0644).
///
/// Format: the 40 Z85 characters on one line; lines starting with `#` and blank lines are ignored.
/// Writes are atomic (a temporary file in the same directory, fsync, then link or rename), so a
/// reader never sees half a key. These are small synchronous file operations: call them at
/// startup (or from a thread of your own), not in a hot path.
public enum CurveKeyFile {
    /// Writes `keyPair.secretKey` to `path` with mode 0600. Fails with `.keyFile` if `path`
    /// exists and `overwrite` is false, or on any I/O error.
    public static func writeSecret(_ keyPair: CurveKeyPair, to path: String, overwrite: Bool = false) throws(MessagingError) {
        let text = "# Daybreak CURVE secret key (Z85); public key \(keyPair.publicKey)\n\(keyPair.secretKey)\n"
        try write(text, to: path, mode: 0o600, overwrite: overwrite)
    }

    /// Reads a secret key written by `writeSecret` and derives its public key.
    /// Refuses (`.insecureKeyFile`) a file that its group or others could read or write: fix it
    /// with `chmod 600 PATH`.
    public static func readSecret(from path: String) throws(MessagingError) -> CurveKeyPair {
        let text = try read(path, secret: true)
        return try CurveKeyPair(secretKey: key(in: text, path: path, what: "secret key"))
    }

    /// Writes a public key to `path` with mode 0644.
    public static func writePublic(_ publicKey: String, to path: String, overwrite: Bool = false) throws(MessagingError) {
        try CurveKeyPair.validate(publicKey, named: "public key")
        try write("# Daybreak CURVE public key (Z85)\n\(publicKey)\n", to: path, mode: 0o644, overwrite: overwrite)
    }

    /// Reads a public key written by `writePublic` (or the secret key file's comment-free twin).
    public static func readPublic(from path: String) throws(MessagingError) -> String {
        let text = try read(path, secret: false)
        let k = try key(in: text, path: path, what: "public key")
        try CurveKeyPair.validate(k, named: "public key in '\(path)'")
        return k
    }

    // MARK: - Files

    private static func key(in text: String, path: String, what: String) throws(MessagingError) -> String {
        let lines = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" })
            .map { $0.trimmingASCIIWhitespace() }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard lines.count == 1 else {
            throw MessagingError(.invalidKey, "\(what) file '\(path)': expected one line with the key, found \(lines.count)")
        }
        _ = try Z85.decodeKey(lines[0], "\(what) in '\(path)'")
        return lines[0]
    }

    private static func read(_ path: String, secret: Bool) throws(MessagingError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw fileError("open '\(path)'", errno) }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw fileError("stat '\(path)'", errno) }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw MessagingError(.keyFile, "key file '\(path)' is not a regular file")
        }
        let loose = st.st_mode & 0o077
        if secret && loose != 0 {
            let mode = String(st.st_mode & 0o777, radix: 8)
            throw MessagingError(.insecureKeyFile,
                                 "secret key file '\(path)' has mode 0\(mode): its group or others may access it; "
                                 + "run chmod 600 '\(path)'")
        }
        guard st.st_size <= 4_096 else {
            throw MessagingError(.invalidKey, "key file '\(path)' has \(st.st_size) bytes; a key file is a few lines")
        }
        var buf = [UInt8](repeating: 0, count: 4_097)
        var n = 0
        while n < buf.count {
            let r = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + n, $0.count - n) }
            if r < 0 {
                if errno == EINTR { continue }
                throw fileError("read '\(path)'", errno)
            }
            if r == 0 { break }
            n += r
        }
        guard let text = String(validating: buf[0..<n], as: UTF8.self) else {
            throw MessagingError(.invalidKey, "key file '\(path)' is not UTF-8 text")
        }
        return text
    }

    private static func write(_ text: String, to path: String, mode: mode_t, overwrite: Bool) throws(MessagingError) {
        // mkstemp creates the file with mode 0600 whatever the umask; fchmod then sets `mode`.
        var template = Array((path + ".tmp.XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd < 0 { throw fileError("create a temporary file beside '\(path)'", errno) }
        let tmp = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var ok = false
        defer {
            if !ok { unlink(tmp) }
        }
        do {
            defer { close(fd) }
            if fchmod(fd, mode) != 0 { throw fileError("chmod '\(tmp)'", errno) }
            let bytes = Array(text.utf8)
            var off = 0
            while off < bytes.count {
                let r = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, $0.count - off) }
                if r < 0 {
                    if errno == EINTR { continue }
                    throw fileError("write '\(tmp)'", errno)
                }
                off += r
            }
            if fsync(fd) != 0 { throw fileError("fsync '\(tmp)'", errno) }
        }
        if overwrite {
            if rename(tmp, path) != 0 { throw fileError("rename '\(tmp)' to '\(path)'", errno) }
        } else {
            // link fails with EEXIST when the target exists: an atomic "create, never replace".
            if link(tmp, path) != 0 {
                let e = errno
                throw e == EEXIST
                    ? MessagingError(.keyFile, "key file '\(path)' already exists (pass overwrite: true to replace it)", errno: e)
                    : fileError("link '\(tmp)' to '\(path)'", e)
            }
            unlink(tmp)
        }
        ok = true
    }

    private static func fileError(_ what: String, _ e: Int32) -> MessagingError {
        MessagingError(.keyFile, "\(what): \(String(cString: strerror(e)))", errno: e)
    }
}

extension Substring {
    fileprivate func trimmingASCIIWhitespace() -> String {
        var s = self[...]
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return String(s)
    }
}
