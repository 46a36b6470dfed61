import Foundation
import MLBuildBasics

/// The annotations of the (first) image manifest in an oci-archive, read from the archive
/// alone: `index.json`, then the manifest blob it names, whose bytes are checked against the
/// digest before they are believed. Large blobs (layers) are skipped, never read.
public enum ImageAnnotations {
    public static func read(archive url: URL) throws -> (manifest: ContentDigest, annotations: [String: String], layers: [Descriptor]) {
        let reader = try ArchiveReader(file: url)
        var small: [String: [UInt8]] = [:]
        while let entry = try reader.next() {
            guard entry.kind == .regular else { continue }
            let path = entry.path.hasPrefix("./") ? String(entry.path.dropFirst(2)) : entry.path
            // index.json and manifests are small; configs too. Layers are not read.
            if entry.size <= 4 << 20 && (path == "index.json" || path.hasPrefix("blobs/sha256/")) {
                small[path] = try reader.readAll(limit: 4 << 20)
            }
        }
        try reader.finish()
        guard let indexBytes = small["index.json"], let index = try? JSONDecoder().decode(Index.self, from: Data(indexBytes)) else {
            throw OCIError("OCI image '\(url.path)': no readable index.json")
        }
        guard let descriptor = index.manifests.first, case let digest = descriptor.digest else {
            throw OCIError("OCI image '\(url.path)': index.json lists no manifest")
        }
        guard let bytes = small["blobs/sha256/\(digest.hex)"] else {
            throw OCIError("OCI image '\(url.path)': the manifest blob \(digest.prefixed) is missing")
        }
        guard ContentDigest.of(bytes) == digest else {
            throw OCIError("OCI image '\(url.path)': the manifest blob does not match its digest \(digest.prefixed)")
        }
        guard let manifest = try? JSONDecoder().decode(Manifest.self, from: Data(bytes)) else {
            throw OCIError("OCI image '\(url.path)': the manifest \(digest.prefixed) is not an image manifest")
        }
        return (digest, manifest.annotations ?? [:], manifest.layers)
    }
}
