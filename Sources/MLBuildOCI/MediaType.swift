/// Media types of the OCI image-spec v1.1 (and the Docker schema 2 ones accepted in base images).
public enum MediaType {
    public static let imageIndex = "application/vnd.oci.image.index.v1+json"
    public static let imageManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let imageConfig = "application/vnd.oci.image.config.v1+json"
    public static let layerTarGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let layerTar = "application/vnd.oci.image.layer.v1.tar"
    public static let layerTarZstd = "application/vnd.oci.image.layer.v1.tar+zstd"

    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    public static let dockerLayerTarGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"

    static func isManifest(_ type: String?) -> Bool { type == imageManifest || type == dockerManifest }
    static func isIndex(_ type: String?) -> Bool { type == imageIndex || type == dockerManifestList }

    /// The OCI layer media type for a base layer (Docker's gzip layer type is the same bytes).
    static func ociLayerType(_ type: String) -> String {
        type == dockerLayerTarGzip ? layerTarGzip : type
    }
}
