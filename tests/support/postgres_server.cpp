#include "support/postgres_server.hpp"

#include <pwd.h>
#include <unistd.h>

#include <fstream>
#include <vector>

#include "support/process.hpp"

namespace gyre::testing {
namespace {

constexpr const char* kBin = "/usr/lib/postgresql/15/bin/";

// The command line as the postgres user (setpriv execs in place, so signals reach it).
std::vector<std::string> as_postgres(std::vector<std::string> argv) {
  std::vector<std::string> out = {"setpriv", "--reuid=postgres", "--regid=postgres",
                                  "--clear-groups", "--"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

}  // namespace

// SIGINT is PostgreSQL's fast shutdown.
PostgresServer::PostgresServer() : server_("postgres", SIGINT) {
  if (server_.dir().empty()) return;
  const std::string dir = server_.dir().string(), data = (server_.dir() / "data").string();
  const passwd* user = getpwnam("postgres");
  if (user == nullptr || chown(dir.c_str(), user->pw_uid, user->pw_gid) != 0) return;
  if (!server_.run(as_postgres({std::string(kBin) + "initdb", "-D", data, "-U", "postgres",
                                "--auth=trust", "-E", "UTF8", "--no-sync"}),
                   "initdb.log"))
    return;
  server_.start(
      [&](uint16_t port) {
        return as_postgres({std::string(kBin) + "postgres", "-D", data, "-h", "127.0.0.1", "-p",
                            std::to_string(port), "-k", dir, "-F", "-c", "fsync=off",
                            // Tests hold a connection per waiting guest, many at once.
                            "-c", "max_connections=300"});
      },
      [](uint16_t port) {
        return run_command(std::string(kBin) + "pg_isready -q -h 127.0.0.1 -p " +
                           std::to_string(port))
                   .status == 0;
      },
      "postgres.log");
}

PostgresServer::~PostgresServer() = default;

std::string PostgresServer::url() const {
  return "postgres://postgres@127.0.0.1:" + std::to_string(port()) + "/postgres";
}

std::string PostgresServer::output() const {
  return server_.read({"initdb.log", "postgres.log"});
}

std::string PostgresServer::psql(const std::string& sql) const {
  const std::filesystem::path file = server_.dir() / "query.sql";
  std::ofstream(file) << sql;
  return run_command("psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -p " +
                     std::to_string(port()) + " -d postgres -f " + file.string())
      .text;
}

}  // namespace gyre::testing
