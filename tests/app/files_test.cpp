// A component's `files` and `exclude_files` resolved against real directories, the way
// `spin up` lays them out in the folder it mounts at the guest's `/`: single files, globs,
// directories, source/destination placements, exclusions, which of two mounts wins, the
// errors (naming the key) and warnings Spin gives, and the symbolic links Gyre refuses.
#include "app/files.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace gyre::app {
namespace {

namespace fs = std::filesystem;

class Files : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() /
            ("gyre-files-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    app_ = base_ / "app";
    fs::create_directories(app_);
    write("data.txt", "data");
    write("static/index.html", "<h1>hi</h1>");
    write("static/about.html", "about");
    write("static/style.css", "css");
    write("static/app.js.map", "map");
    write("static/sub/deep.txt", "deep");
    write("static/.hidden", "hidden");
    write(".config/x.txt", "x");
  }
  void TearDown() override { fs::remove_all(base_); }

  void write(const std::string& relative, const std::string& contents) {
    const fs::path path = app_ / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << contents;
  }

  // The component's lines (files, exclude_files) in a minimal manifest.
  static Manifest manifest(const std::string& component_lines) {
    auto parsed = parse_manifest(
        "spin_manifest_version = 2\n[application]\nname = \"t\"\n[[trigger.http]]\n"
        "route = \"/...\"\ncomponent = \"c\"\n[component.c]\nsource = \"c.wasm\"\n" +
            component_lines,
        "spin.toml");
    if (!parsed.ok()) ADD_FAILURE() << parsed.error().describe();
    return parsed.ok() ? std::move(parsed).value() : Manifest{};
  }

  Result<ComponentFiles, ManifestError> resolve(const std::string& component_lines) {
    return resolve_files(manifest(component_lines), "c", app_);
  }

  // "/dir/" for a directory, "/guest <- host" for a file (host relative to the app).
  std::vector<std::string> listing(const std::string& component_lines) {
    auto resolved = resolve(component_lines);
    if (!resolved.ok()) {
      ADD_FAILURE() << resolved.error().describe();
      return {};
    }
    std::vector<std::string> out;
    for (const GuestFile& f : resolved->files) {
      if (f.is_directory()) {
        out.push_back(f.guest_path == "/" ? "/" : f.guest_path + "/");
      } else {
        out.push_back(f.guest_path + " <- " +
                      f.host_path.lexically_normal().lexically_relative(app_).string());
      }
    }
    return out;
  }

  ManifestError must_fail(const std::string& component_lines) {
    auto resolved = resolve(component_lines);
    if (resolved.ok()) {
      ADD_FAILURE() << "resolved, but should have failed: " << component_lines;
      return {};
    }
    return resolved.error();
  }

  fs::path base_, app_;
};

using Listing = std::vector<std::string>;

TEST_F(Files, NoFilesMeansNothingMounted) {
  auto resolved = resolve("");
  ASSERT_TRUE(resolved.ok());
  EXPECT_TRUE(resolved->files.empty());
  EXPECT_TRUE(resolved->warnings.empty());
}

TEST_F(Files, SingleFilesKeepTheirRelativePath) {
  EXPECT_EQ(listing(R"(files = ["data.txt", "./static/index.html"])"),
            (Listing{"/", "/data.txt <- data.txt", "/static/",
                     "/static/index.html <- static/index.html"}));
}

TEST_F(Files, GlobsMatchAsRustsGlobCrate) {
  // `*` stays within a component; dotfiles match too.
  EXPECT_EQ(
      listing(R"(files = ["static/*"])"),
      (Listing{"/", "/static/", "/static/.hidden <- static/.hidden",
               "/static/about.html <- static/about.html", "/static/app.js.map <- static/app.js.map",
               "/static/index.html <- static/index.html",
               "/static/style.css <- static/style.css"}));
  // `**` spans any number of directories, none included; hidden directories too.
  EXPECT_EQ(listing(R"(files = ["**/*.txt"])"),
            (Listing{"/", "/.config/", "/.config/x.txt <- .config/x.txt", "/data.txt <- data.txt",
                     "/static/", "/static/sub/", "/static/sub/deep.txt <- static/sub/deep.txt"}));
  // Character classes, negated classes and `?`.
  EXPECT_EQ(listing(R"(files = ["static/[a-i]*.html", "static/[!a-z]*", "dat?.txt"])"),
            (Listing{"/", "/data.txt <- data.txt", "/static/", "/static/.hidden <- static/.hidden",
                     "/static/about.html <- static/about.html",
                     "/static/index.html <- static/index.html"}));
  // A glob matching nothing mounts an empty root.
  EXPECT_EQ(listing(R"(files = ["nothing/**/*.png"])"), (Listing{"/"}));
}

TEST_F(Files, ADirectoryNamedByPathNestsAsInSpin36) {
  // Spin copies the directory's files by their app-relative path into a folder named
  // after the pattern, so static/sub/deep.txt is at /static/static/sub/deep.txt.
  EXPECT_EQ(
      listing(R"(files = ["static/sub"])"),
      (Listing{"/", "/static/", "/static/sub/", "/static/sub/static/", "/static/sub/static/sub/",
               "/static/sub/static/sub/deep.txt <- static/sub/deep.txt"}));
}

TEST_F(Files, PlacementsPutASourceAtADestination) {
  EXPECT_EQ(listing(R"(files = [{ source = "static/sub", destination = "/" },
                                 { source = "data.txt", destination = "/etc/app/config.txt" },
                                 { source = "static/sub", destination = "relative/./dir" }])"),
            (Listing{"/", "/deep.txt <- static/sub/deep.txt", "/etc/", "/etc/app/",
                     "/etc/app/config.txt <- data.txt", "/relative/", "/relative/dir/",
                     "/relative/dir/deep.txt <- static/sub/deep.txt"}));
}

TEST_F(Files, PlacedDirectoriesExistEvenWhenEmpty) {
  fs::create_directories(app_ / "empty" / "inner");
  EXPECT_EQ(listing(R"(files = [{ source = "empty", destination = "/assets" }])"),
            (Listing{"/", "/assets/"}));
}

TEST_F(Files, ExcludeFilesMatchPathsFromTheAppDirectory) {
  // `*` in an exclusion also matches `/`; the paths are the host's, not the guest's.
  EXPECT_EQ(
      listing(R"(files = [{ source = "static", destination = "/web" }]
exclude_files = ["static/sub/*", "**/*.map", "static/.*"])"),
      (Listing{"/", "/web/", "/web/about.html <- static/about.html",
               "/web/index.html <- static/index.html", "/web/style.css <- static/style.css"}));
  EXPECT_EQ(listing(R"(files = ["static/**/*"]
exclude_files = ["static*.html", "static/s*"])"),
            (Listing{"/", "/static/", "/static/.hidden <- static/.hidden",
                     "/static/app.js.map <- static/app.js.map"}));
}

TEST_F(Files, ExcludeFilesDoNotApplyToAFileNamedOnItsOwn) {
  EXPECT_EQ(
      listing(R"(files = ["static/app.js.map", { source = "data.txt", destination = "/d" }]
exclude_files = ["**/*.map", "*.txt"])"),
      (Listing{"/", "/d <- data.txt", "/static/", "/static/app.js.map <- static/app.js.map"}));
}

TEST_F(Files, ALaterMountReplacesAnEarlierOne) {
  EXPECT_EQ(
      listing(
          R"(files = ["data.txt", { source = "static/index.html", destination = "/data.txt" }])"),
      (Listing{"/", "/data.txt <- static/index.html"}));
}

TEST_F(Files, SourcesMayComeFromBesideTheAppThroughDotDot) {
  // Spin takes `..` in a source: the user placed that directory on purpose.
  const fs::path shared = base_ / "shared";
  fs::create_directories(shared);
  std::ofstream(shared / "common.css") << "common";
  EXPECT_EQ(listing(R"(files = [{ source = "../shared", destination = "/common" }])"),
            (Listing{"/", "/common/", "/common/common.css <- ../shared/common.css"}));
}

TEST_F(Files, SymbolicLinksInsideTheMountAreFollowed) {
  fs::create_symlink("../data.txt", app_ / "static" / "data-link.txt");
  fs::create_directory_symlink("sub", app_ / "static" / "sub-link");
  auto resolved = resolve(R"(files = [{ source = "static", destination = "/" }])");
  ASSERT_TRUE(resolved.ok()) << resolved.error().describe();
  std::vector<std::string> guests;
  for (const auto& f : resolved->files)
    guests.push_back(f.guest_path);
  // The file link leads out of the source directory (to the app's data.txt): left out.
  EXPECT_EQ(guests, (std::vector<std::string>{"/", "/.hidden", "/about.html", "/app.js.map",
                                              "/index.html", "/style.css", "/sub", "/sub-link",
                                              "/sub-link/deep.txt", "/sub/deep.txt"}));
  ASSERT_EQ(resolved->warnings.size(), 1u);
  EXPECT_NE(resolved->warnings[0].find("component.c.files[0]: left out \"static/data-link.txt\": "
                                       "a symbolic link leading outside"),
            std::string::npos)
      << resolved->warnings[0];
  // Through a pattern, the mount is the app directory: the same link stays in.
  EXPECT_EQ(listing(R"(files = ["static/data-link.txt"])"),
            (Listing{"/", "/static/", "/static/data-link.txt <- static/data-link.txt"}));
}

TEST_F(Files, SymbolicLinksLeadingOutOfTheAppAreLeftOutWithAWarning) {
  const fs::path outside = base_ / "outside";
  fs::create_directories(outside);
  std::ofstream(outside / "secret.txt") << "secret";
  fs::create_symlink(outside / "secret.txt", app_ / "static" / "secret.txt");
  fs::create_directory_symlink(outside, app_ / "static" / "outside");
  fs::create_directory_symlink("/", app_ / "static" / "root");

  auto resolved = resolve(R"(files = ["static/**/*", "static/secret.txt", "static/outside/*"])");
  ASSERT_TRUE(resolved.ok()) << resolved.error().describe();
  for (const GuestFile& f : resolved->files) {
    EXPECT_EQ(f.guest_path.find("secret"), std::string::npos) << f.guest_path;
    EXPECT_EQ(f.guest_path.find("/static/root/"), std::string::npos) << f.guest_path;
  }
  std::string all;
  for (const std::string& w : resolved->warnings)
    all += w + "\n";
  EXPECT_NE(all.find("files[0]: left out \"static/outside\""), std::string::npos) << all;
  EXPECT_NE(all.find("files[0]: left out \"static/root\""), std::string::npos) << all;
  EXPECT_NE(all.find("files[0]: left out \"static/secret.txt\""), std::string::npos) << all;
  EXPECT_NE(all.find("files[1]: left out \"static/secret.txt\""), std::string::npos) << all;
  EXPECT_NE(all.find("files[2]: left out \"static/outside\""), std::string::npos) << all;
}

TEST_F(Files, ALinkLoopIsWalkedOnce) {
  fs::create_directory_symlink("..", app_ / "static" / "sub" / "up");
  auto resolved = resolve(R"(files = [{ source = "static", destination = "/" }])");
  ASSERT_TRUE(resolved.ok()) << resolved.error().describe();
  bool warned = false;
  for (const std::string& w : resolved->warnings)
    warned = warned || w.find("\"static/sub/up\": a symbolic link loop") != std::string::npos;
  EXPECT_TRUE(warned);
}

TEST_F(Files, SpinWarnsAboutTakingTheWholeAppDirectory) {
  auto whole = resolve(R"(files = ["*"])");
  ASSERT_TRUE(whole.ok());
  ASSERT_EQ(whole->warnings.size(), 1u);
  EXPECT_EQ(whole->warnings[0],
            "component.c.files[0]: A component is including the entire application directory as "
            "asset files. This is unlikely to be what you want.\nIf this is what you want, use the "
            "pattern \"./*\" to avoid this warning.");
  auto tree = resolve(R"(files = ["**/*"])");
  ASSERT_TRUE(tree.ok());
  ASSERT_EQ(tree->warnings.size(), 1u);
  EXPECT_NE(tree->warnings[0].find("entire application directory tree"), std::string::npos);
  auto quiet = resolve(R"(files = ["./*"])");
  ASSERT_TRUE(quiet.ok());
  EXPECT_TRUE(quiet->warnings.empty());
}

TEST_F(Files, MissingSourcesAreErrorsNamingTheKey) {
  ManifestError e = must_fail(R"(files = ["data.txt", "missing.txt"])");
  EXPECT_EQ(e.key, "component.c.files[1]");
  EXPECT_EQ(e.message, "\"missing.txt\" does not exist and doesn't appear to be a glob pattern");
  EXPECT_EQ(e.describe(),
            "spin.toml: component.c.files[1]: \"missing.txt\" does not exist and "
            "doesn't appear to be a glob pattern");

  e = must_fail(R"(files = [{ source = "nowhere", destination = "/" }])");
  EXPECT_EQ(e.key, "component.c.files[0].source");
  EXPECT_EQ(e.message, "File or directory \"nowhere\" does not exist");
}

TEST_F(Files, PatternsEndingInDotsAreRefusedWithSpinsAdvice) {
  ManifestError e = must_fail(R"(files = ["static/.."])");
  EXPECT_EQ(e.key, "component.c.files[0]");
  EXPECT_EQ(e.message.substr(0, e.message.find('\n')),
            "A file pattern can't end in a parent directory path (..)");
  e = must_fail(R"(files = ["."])");
  EXPECT_EQ(e.message.substr(0, e.message.find('\n')),
            "A file pattern can't end in a current directory path (.)");
}

TEST_F(Files, PatternsMayNotLeaveTheAppDirectory) {
  for (const char* pattern : {"/etc/passwd", "/etc/*", "../outside/*.txt", "static/../../x"}) {
    ManifestError e = must_fail(std::string("files = [\"") + pattern + "\"]");
    EXPECT_EQ(e.key, "component.c.files[0]") << pattern;
    EXPECT_EQ(e.message, "\"" + std::string(pattern) +
                             "\" cannot be mapped because it is outside the application "
                             "directory. Files must be within the application directory.");
  }
  // An absolute source outside the app, as Spin refuses it.
  ManifestError e = must_fail(R"(files = [{ source = "/etc/passwd", destination = "/h" }])");
  EXPECT_EQ(e.key, "component.c.files[0].source");
  EXPECT_NE(e.message.find("outside the application directory"), std::string::npos) << e.message;
}

TEST_F(Files, DestinationsStayBelowTheGuestRoot) {
  ManifestError e = must_fail(R"(files = [{ source = "static", destination = "/../x" }])");
  EXPECT_EQ(e.key, "component.c.files[0].destination");
  EXPECT_EQ(e.message, "\"/../x\" must not contain `..`: files are placed below the guest's root");
}

TEST_F(Files, AFileCannotBePlacedAtADirectoryName) {
  for (const char* destination : {"/", "/dir/", "/dir/."}) {
    ManifestError e = must_fail(std::string("files = [{ source = \"data.txt\", destination = \"") +
                                destination + "\" }]");
    EXPECT_EQ(e.key, "component.c.files[0].destination");
    EXPECT_EQ(e.message,
              "\"" + std::string(destination) + "\" is not a valid destination file name");
  }
}

TEST_F(Files, AFileAndADirectoryCannotShareAPath) {
  ManifestError e = must_fail(
      R"(files = ["static/index.html", { source = "data.txt", destination = "/static" }])");
  EXPECT_EQ(e.key, "component.c.files[1]");
  EXPECT_EQ(e.message, "\"/static\" is a directory, so a file cannot be placed there");
  e = must_fail(
      R"(files = [{ source = "data.txt", destination = "/static" }, "static/index.html"])");
  EXPECT_EQ(e.key, "component.c.files[1]");
  EXPECT_EQ(e.message, "\"/static\" is a file, so it cannot also be a directory");
}

TEST_F(Files, InvalidGlobsAreErrors) {
  ManifestError e = must_fail(R"(files = ["static/**.html"])");
  EXPECT_EQ(e.key, "component.c.files[0]");
  EXPECT_EQ(e.message,
            "Failed to resolve glob pattern \"static/**.html\": Pattern syntax error near position "
            "9: recursive wildcards must form a single path component");
  e = must_fail(R"(files = ["static/*"]
exclude_files = ["ok/*", "[oops"])");
  EXPECT_EQ(e.key, "component.c.exclude_files[1]");
  EXPECT_EQ(e.message,
            "Invalid exclude_files glob pattern \"[oops\": Pattern syntax error near position 0: "
            "invalid range pattern");
}

TEST_F(Files, UnknownComponent) {
  auto resolved = resolve_files(manifest(""), "other", app_);
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.error().key, "component.other");
}

}  // namespace
}  // namespace gyre::app
