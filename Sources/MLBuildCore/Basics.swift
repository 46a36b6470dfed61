// Core's users have always seen the digest, the atomic write and the binary codec through Core:
// they now live in MLBuildBasics (shared with OCI and Datasets), re-exported here.
@_exported import MLBuildBasics
