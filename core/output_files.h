// Output files and directories, published all or none.
//
// Every command declares its outputs to one Outputs before it computes
// anything: each declaration checks the path (not empty, not a directory for
// a file, its directory exists) and creates a fresh temporary sibling to
// write into, which also proves the directory is writable. Commit() publishes
// every output by rename after all were written; an Outputs destroyed without
// Commit() (an error on the way) removes its temporaries and leaves the
// user's files as they were.
//
// What trisim may replace (issue 9 section 2: never anything it did not
// write in this run):
//  - a file output goes into place only where no file exists: an existing
//    path (a file, a symlink, anything) is refused when it is declared
//    unless `force` (the command's --force), and publishing uses link(2),
//    which fails rather than replace a file that appeared meanwhile. With
//    `force` the file is replaced (rename, atomic);
//  - a directory output (--dump-stages DIR) goes into place by rename when
//    DIR does not exist or is empty; an existing non-empty DIR is refused
//    unless `force`, and then only the files `owned` names (those a previous
//    trisim run listed in its manifest) are replaced or removed: every other
//    file stays, and a new file whose name is taken by one of them is an
//    error. An existing non-directory DIR is refused.
// Paths may end in '/' ("stages/").
//
// Errors are InputError (usage, exit 2) naming the flag and the path.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace trisim {

class Outputs {
 public:
  // Files trisim wrote into an existing directory before (from its
  // manifest), or empty when it is not trisim's. Names relative to the dir.
  using OwnedFiles =
      std::function<std::vector<std::string>(const std::string&)>;

  // `force`: the command's --force; file outputs may replace existing files
  // (directory outputs take their own `force`, see Directory()).
  explicit Outputs(bool force) : force_(force) {}
  Outputs(const Outputs&) = delete;
  Outputs& operator=(const Outputs&) = delete;
  ~Outputs();  // removes temporaries unless committed

  // Declares a file output; returns the temporary path to write it to.
  // Refuses an existing `path` unless force: "--out X.npy: exists; refusing
  // to overwrite it (--force replaces it)".
  std::string File(const std::string& flag, const std::string& path);

  // Declares a directory output; returns an empty temporary directory to
  // write its files into (flat: no subdirectories).
  std::string Directory(const std::string& flag, const std::string& path,
                        bool force, const OwnedFiles& owned);

  // Publishes every declared output. Throws InputError if one cannot be
  // published; checks that can fail run before the first rename.
  void Commit();

 private:
  struct Entry {
    std::string flag, path, temp;
    bool directory = false;
    bool merge = false;  // into an existing non-empty directory (force)
    std::vector<std::string> owned;
  };
  std::vector<Entry> entries_;
  bool force_ = false;
  bool committed_ = false;
};

// Creates a fresh empty temporary sibling of `path` ("DIR/.NAME.trisim-XXXXXX",
// mkstemp) and returns its name; throws InputError naming `path`.
std::string CreateTempSibling(const std::string& path);

// `path` without trailing slashes ("stages/" -> "stages", "/" stays).
std::string WithoutTrailingSlash(const std::string& path);

}  // namespace trisim
