// wasi:filesystem 0.2 (types and preopens): a component's mounted `files`, read-only, as
// `spin up` presents them. Spin copies a component's files into one folder and preopens
// it at `/` with read permissions only, through Wasmtime; here the guest sees the same
// tree without the copy: every directory is the host's list of what is mounted, every
// file is opened from its host path when the guest opens it.
//
// What the guest can do is what Wasmtime allows on a read-only preopen, with Wasmtime's
// error codes: open (for reading), read, read-via-stream, stat, stat-at, readdir,
// metadata hashes, get-type, get-flags, is-same-object; advise and sync succeed without
// doing anything. Opening for writing, creating or truncating fails with `not-permitted`,
// as does every function that would change something; write streams on a file fail with
// `bad-descriptor`.
//
// Paths stay inside the tree (mounted_tree.hpp): an absolute path, or `..` leading above
// the directory a path is resolved from, fails with `not-permitted` (as cap-std refuses
// an escape), and a file whose host path has come to lead outside where it was mounted
// from (a symbolic link put there after the app started) cannot be opened either.
#pragma once

#include <vector>

#include "component/host_imports.hpp"
#include "wasi/mounted_tree.hpp"

namespace gyre::wasi {

// Registers wasi:filesystem/types and wasi:filesystem/preopens @0.2.0 (served to 0.2.x)
// over `files`. With no files the guest gets no preopened directory at all, as in Spin;
// otherwise one, `/`, holding them.
void add_filesystem(component::HostImports& imports, std::vector<MountedFile> files = {});

}  // namespace gyre::wasi
