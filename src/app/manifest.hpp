// The Spin application manifest (spin.toml, manifest version 2) as plain data, and the
// parser that reads and validates it the way Spin does.
//
// The model is the manifest after Spin's normalisation (crates/manifest/src/normalize.rs):
// inline trigger components have been given ids and moved into `components`, every
// trigger has an id, and dependencies naming another component of the app have been
// replaced by that component's source. Tables keep file order, as Spin's maps do.
//
// parse_manifest rejects everything Spin rejects when reading the manifest (unknown keys,
// wrong types, bad ids and names, versions other than 2) and also what Spin would reject
// later, while loading the app or starting its HTTP and Redis triggers (variables that
// are both required and defaulted, triggers naming missing components, malformed HTTP
// and Redis trigger settings, a `base` other than "/", component variable templates
// naming unknown variables, source digests and package versions, dependency names,
// targets and conflicts), so that every such error can point at a line of the file.
// Checks that need the network, the file system or the runtime config (fetching sources,
// file mounts, store labels, outbound host patterns, route syntax) belong to the layers
// that do those things.
//
// Spin's behaviour followed is that of Spin 3.x (v3.6): the last release with the
// wasip3-unstable executor, and without Spin 4's component `profile` overrides and
// per-dependency `inherit_configuration`, which are rejected as unknown keys here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "app/ordered_map.hpp"
#include "base/result.hpp"

namespace gyre::app {

// Why a manifest was rejected, and where.
struct ManifestError {
  std::string file;     // as given to the parser, e.g. "spin.toml"
  std::string key;      // TOML key path, e.g. "component.hello.files[2]"; empty if none
  uint32_t line = 0;    // 1-based; 0 when unknown
  uint32_t column = 0;  // 1-based; 0 when unknown
  std::string message;

  // "spin.toml:12:5: component.hello.files[2]: expected a string or a table with source
  // and destination"; position and key are left out when unknown.
  std::string describe() const;
};

// An environment a component or application declares compatibility with (`targets`).
struct TargetEnvironment {
  enum class Kind { kCatalogue, kHttp, kFile };
  Kind kind = Kind::kCatalogue;
  std::string value;  // catalogue reference ("spin-up:3.3"), URL, or file path

  bool operator==(const TargetEnvironment&) const = default;
};

// `[application]`.
struct Application {
  std::string name;
  std::string version;      // empty when not given
  std::string description;  // empty when not given
  std::vector<std::string> authors;
  std::vector<TargetEnvironment> targets;
  // `[application.trigger.http] base`. Spin has deprecated it and refuses to start an
  // app whose base is anything but "/", so after parsing it is always "/".
  std::string http_base = "/";
  // `[application.trigger.redis] address`: the server for Redis triggers that give none.
  std::optional<std::string> redis_address;
  // `[application.trigger.<type>]` for other trigger types, as TOML text, for whatever
  // runs that trigger type to interpret.
  OrderedMap<std::string> other_trigger_settings;
};

// `[variables.<name>]`: an application variable. After parsing, exactly one of
// `required` and `default_value` holds, as Spin demands.
struct Variable {
  std::optional<std::string> default_value;
  bool required = false;
  bool secret = false;  // its value must not be logged
  std::optional<std::string> description;

  bool operator==(const Variable&) const = default;
};

// `source = "path/to/file.wasm"`, relative to the manifest's directory.
struct LocalSource {
  std::string path;
  bool operator==(const LocalSource&) const = default;
};
// `source = { url = "...", digest = "sha256:..." }`.
struct RemoteSource {
  std::string url;
  std::string digest;
  bool operator==(const RemoteSource&) const = default;
};
// `source = { registry = "...", package = "ns:name", version = "1.2.3" }`.
struct RegistrySource {
  std::optional<std::string> registry;  // the default registry when absent
  std::string package;
  std::string version;
  bool operator==(const RegistrySource&) const = default;
};
using ComponentSource = std::variant<LocalSource, RemoteSource, RegistrySource>;

// A `files` entry: a path or glob relative to the manifest's directory, mounted at the
// same relative place under the guest's root...
struct FilePattern {
  std::string pattern;
  bool operator==(const FilePattern&) const = default;
};
// ...or a host directory (or file) mounted at an absolute guest path.
struct FilePlacement {
  std::string source;
  std::string destination;
  bool operator==(const FilePlacement&) const = default;
};
using FileMount = std::variant<FilePattern, FilePlacement>;

// `[component.<id>.build]`: what `spin build` and `spin watch` run.
struct BuildConfig {
  // `command` may be one string or a list; either way these run in order.
  std::vector<std::string> commands;
  std::optional<std::string> workdir;  // relative to the manifest's directory
  std::vector<std::string> watch;      // globs relative to workdir
};

// A `[component.<id>.dependencies]` entry: how to satisfy one of the component's
// imports by composing another component into it. The key is a plain kebab-case name
// or a package name ("ns:name", "ns:name/interface", either with "@version").
// A dependency on another component of the app ({ component = "id" }) has been
// replaced by that component's source: kLocal, kHttp or kPackage.
struct Dependency {
  enum class Kind {
    kVersion,  // "1.2.3" / ">= 0.1": that version requirement of the named package
    kPackage,  // { version, registry?, package?, export? } from a registry
    kLocal,    // { path, export? }
    kHttp,     // { url, digest, export? }
  };
  Kind kind = Kind::kVersion;
  std::string version;                     // kVersion, kPackage: version requirement
  std::optional<std::string> registry;     // kPackage
  std::optional<std::string> package;      // kPackage: defaults to the key's package
  std::string path;                        // kLocal, relative to the manifest's directory
  std::string url;                         // kHttp
  std::string digest;                      // kHttp
  std::optional<std::string> export_name;  // which export satisfies the import

  bool operator==(const Dependency&) const = default;
};

// `[component.<id>]`.
struct Component {
  ComponentSource source;
  std::string description;
  // Component variables: name -> template string that may use `{{ app_variable }}`.
  OrderedMap<std::string> variables;
  OrderedMap<std::string> environment;
  std::vector<FileMount> files;
  std::vector<std::string> exclude_files;
  std::vector<std::string> allowed_outbound_hosts;
  // Deprecated host list ("example.com", "insecure:allow-all"); whoever enforces
  // outbound networking converts it as Spin does and adds it to allowed_outbound_hosts.
  std::vector<std::string> allowed_http_hosts;
  std::vector<std::string> key_value_stores;
  std::vector<std::string> sqlite_databases;
  std::vector<std::string> ai_models;
  std::optional<std::vector<TargetEnvironment>> targets;  // overrides the app's
  std::optional<BuildConfig> build;
  // Whether dependencies may use this component's capabilities (network, stores...).
  bool dependencies_inherit_configuration = false;
  OrderedMap<Dependency> dependencies;
};

// An HTTP route: a pattern ("/", "/api/...", "/users/:id") or a private endpoint, which
// only other components of the app can reach (through service chaining).
struct HttpRoute {
  bool is_private = false;
  std::string pattern;  // empty when private
};

// How an HTTP trigger talks to its component.
struct HttpExecutor {
  enum class Type {
    kSpin,            // `{ type = "spin" }` or `"http"`, the default: wasi:http or Spin's own
    kWagi,            // `{ type = "wagi" }`: a WASI command spoken to over CGI
    kWasip3Unstable,  // `{ type = "wasip3-unstable" }`: the WASIp3 release-candidate handler
  };
  Type type = Type::kSpin;
  // Wagi only: the guest's command line, in which `${SCRIPT_NAME}` and `${ARGS}` stand
  // for the request's script name and query arguments; entrypoint is deprecated.
  std::string argv = "${SCRIPT_NAME} ${ARGS}";
  std::string entrypoint = "_start";
};

// A response the host sends itself, without running a component.
struct StaticResponse {
  uint16_t status_code = 200;
  OrderedMap<std::string> headers;
  std::optional<std::string> body;
};

// `[[trigger.http]]`. Exactly one of component and static_response is set.
struct HttpTrigger {
  std::string id;  // given, or made up as Spin makes it up
  std::optional<std::string> component;
  HttpRoute route;
  HttpExecutor executor;
  std::optional<StaticResponse> static_response;
};

// `[[trigger.redis]]`.
struct RedisTrigger {
  std::string id;
  std::string component;
  std::string channel;  // may use `{{ variable }}` templates, resolved at startup
  // Overrides Application::redis_address; may also be a template.
  std::optional<std::string> address;
};

// A trigger of a type Gyre does not run itself (a trigger plugin's, e.g. cron).
struct OtherTrigger {
  std::string type;
  std::string id;
  std::optional<std::string> component;
  // `components = { role = "id" | ["id", ...] }`, inline components given ids.
  OrderedMap<std::vector<std::string>> components;
  std::string config_toml;  // every other key of the trigger table, as TOML text
};

struct Manifest {
  std::string file;  // the file name errors were reported against
  Application application;
  OrderedMap<Variable> variables;
  std::vector<std::string> trigger_types;  // in file order, each once
  std::vector<HttpTrigger> http_triggers;
  std::vector<RedisTrigger> redis_triggers;
  std::vector<OtherTrigger> other_triggers;
  // Declared components in file order, then inline ones in trigger order.
  OrderedMap<Component> components;
};

// Parses manifest text. `file_name` only labels errors (and Manifest::file).
Result<Manifest, ManifestError> parse_manifest(std::string_view toml_text, std::string file_name);

// Reads and parses a manifest file; errors are labelled with the path as given.
Result<Manifest, ManifestError> load_manifest(const std::filesystem::path& path);

}  // namespace gyre::app
