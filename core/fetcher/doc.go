// Package fetcher downloads a task's CommandInfo.uris into its sandbox before
// launch, as Mesos' mesos-fetcher does (reference/mesos.md §5.4).
//
// What it owns: getting each URI (http, https, file:// and plain absolute
// paths) into the sandbox in order, the per-URI actions (executable,
// extract, output_file), confining everything it writes to the sandbox,
// handing the files it created to the task's user, and the download cache
// (cache: true) with its LRU eviction. What it leaves to others: creating
// the sandbox and deciding which URIs to fetch (core/agent), turning a
// failure into TASK_FAILED (core/agent), and exposing Stats as metrics.
//
// # Per URI
//
//	value -> source (http(s) | local file) -> destination name
//	         (output_file, else the last path segment of the URI)
//	   cache: true and a cache dir?  yes -> through the cache (below)
//	                                 no  -> download into the sandbox
//	   executable: true -> chmod 0755, no extraction
//	   extract (default true) and an archive name -> unpack next to the file
//	   running as root with a user -> chown what was created to the user
//
// The agent runs as root, so a local path could name any file of the host:
// when a user is given, a local file is fetched only if that user's
// permission bits allow reading it (and searching its directories); ACLs
// are not consulted.
//
// Archives are recognised by the destination's suffix: .tar, .tar.gz,
// .tgz, .tar.bz2, .tbz2, .tar.xz, .txz, .zip, and .gz (a single
// compressed file, written without the suffix). The archive itself stays in
// the sandbox, as with Mesos. Extraction is confined to the directory of the
// archive: entries with absolute names or names that climb out with "..",
// and symbolic links whose target would resolve outside it (following the
// links already extracted), fail the URI with ErrUnsafeArchive. Device
// nodes and FIFOs are skipped; permission bits are kept (setuid, setgid and
// sticky bits are dropped), owners in the archive are ignored.
//
// # Cache
//
// The cache holds one file per (user, URI) under Config.CacheDir, named by
// a hash of both. A cache miss downloads into the cache, admits the file
// (evicting least recently used entries that no fetch is copying from) and
// copies it into the sandbox; a hit only copies. Concurrent fetches of the
// same (user, URI) download once: later callers wait for the first. A file
// larger than the whole cache is used once and not kept. Errors of the
// cache itself (disk, space) fall back to a direct download; errors of the
// source (HTTP status, connection, stall) fail the URI, for every waiter.
// Entries are never refreshed: a changed resource needs a new URI. Like
// Mesos, the cache does not survive a restart: New removes the entries a
// previous process left in CacheDir (only files named as this package
// names them).
//
// The decisions about what to keep and what to evict are made by
// cacheIndex, a synchronous structure without I/O; Fetcher carries them out.
package fetcher
