// The versions of WASI 0.3 Gyre serves: the release and the release candidates real
// toolchains emitted (Spin 4.0 serves rc-2026-03-15, Spin 3.6 rc-2026-01-06, Spin 3.5
// rc-2025-09-16). A prerelease matches only itself (component/host_imports.hpp), so an
// interface is registered once per version; where a version differs, the interface's own
// file says so.
#pragma once

namespace gyre::wasi {

inline constexpr const char* kWasi3Versions[] = {"0.3.0", "0.3.0-rc-2026-03-15",
                                                 "0.3.0-rc-2026-01-06", "0.3.0-rc-2025-09-16"};

}  // namespace gyre::wasi
