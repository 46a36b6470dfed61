/// The two key spaces of the HTTP cache protocol (bazel-remote, Bazel's `--remote_cache=http://…`):
/// `<base>/cas/<sha256hex>` holds blobs addressed by their own digest, `<base>/ac/<sha256hex>`
/// holds action results addressed by the action key.
public enum CacheNamespace: String, Sendable, CaseIterable {
    case cas
    case ac
}
