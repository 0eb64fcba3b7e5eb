package containerizer

// PosixKind is the Kind of the posix containerizer and of its checkpoints.
const PosixKind = "posix"
