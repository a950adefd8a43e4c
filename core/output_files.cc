#include "core/output_files.h"

#include <fcntl.h>
#include <stdio.h>  // renameat2, RENAME_NOREPLACE (glibc >= 2.28)
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <system_error>

#include "core/status.h"

namespace trisim {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void Refuse(const std::string& flag, const std::string& path,
                         const std::string& why) {
  throw InputError(flag + " " + (path.empty() ? "''" : path) + ": " + why);
}

// The directory a path lives in ("." for a bare name).
std::string ParentOf(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

void CheckParent(const std::string& flag, const std::string& path) {
  const std::string parent = ParentOf(path);
  std::error_code ec;
  if (!fs::is_directory(parent, ec)) {
    Refuse(flag, path,
           "directory " + parent +
               (fs::exists(parent, ec) ? " is not a directory"
                                       : " does not exist"));
  }
}

// A fresh temporary sibling of `path`: "DIR/.NAME.trisim-XXXXXX".
std::string TempTemplate(const std::string& path) {
  const fs::path p(path);
  return (fs::path(ParentOf(path)) /
          ("." + p.filename().string() + ".trisim-XXXXXX"))
      .string();
}

// Anything at `path`, a dangling symlink included.
bool Exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(path, ec));
}

constexpr const char* kExists =
    "exists; refusing to overwrite it (--force replaces it)";

// Moves `from` to `to` only if nothing is at `to`: renameat2 with
// RENAME_NOREPLACE, or link + unlink on file systems without it. Returns
// errno (EEXIST when something is there), 0 on success.
int RenameNoReplace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(),
                  RENAME_NOREPLACE) == 0) {
    return 0;
  }
  if (errno != EINVAL && errno != ENOSYS) return errno;
  if (::link(from.c_str(), to.c_str()) != 0) return errno;
  ::unlink(from.c_str());
  return 0;
}

std::vector<std::string> ListFiles(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

std::string CreateTempSibling(const std::string& path) {
  std::string temp = TempTemplate(path);
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) {
    throw InputError(path + ": cannot write in " + ParentOf(path) + " (" +
                     std::strerror(errno) + ")");
  }
  ::close(fd);
  return temp;
}

std::string WithoutTrailingSlash(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

std::string Outputs::File(const std::string& flag, const std::string& given) {
  if (given.empty()) Refuse(flag, given, "empty path; give a file name");
  if (given.back() == '/') Refuse(flag, given, "names a directory, not a file");
  const std::string path = given;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    Refuse(flag, path, "is a directory; give a file name");
  }
  if (!force_ && Exists(path)) Refuse(flag, path, kExists);
  CheckParent(flag, path);
  for (const Entry& e : entries_) {
    if (fs::weakly_canonical(e.path, ec) == fs::weakly_canonical(path, ec)) {
      Refuse(flag, path, "is also the output of " + e.flag);
    }
  }
  std::string temp;
  try {
    temp = CreateTempSibling(path);
  } catch (const InputError& e) {
    throw InputError(flag + " " + e.what());
  }
  entries_.push_back({flag, path, temp, false, false, {}});
  return temp;
}

std::string Outputs::Directory(const std::string& flag,
                               const std::string& given, bool force,
                               const OwnedFiles& owned) {
  if (given.empty()) Refuse(flag, given, "empty path; give a directory name");
  std::error_code ec;
  // Absolute and normal, so "." and "a/.." have a name and a parent.
  const std::string path =
      WithoutTrailingSlash(fs::absolute(given, ec).lexically_normal().string());
  Entry entry{flag, path, "", true, false, {}};
  if (fs::exists(fs::symlink_status(path, ec)) && !fs::is_directory(path, ec)) {
    Refuse(flag, given,
           "exists and is not a directory; refusing to replace it");
  }
  if (fs::is_directory(path, ec) && !fs::is_empty(path, ec)) {
    const std::vector<std::string> mine = owned(path);
    if (mine.empty()) {
      Refuse(flag, given,
             "exists and is not a trisim stage dump; refusing to overwrite "
             "it (give a new or empty directory)");
    }
    if (!force) {
      Refuse(flag, given,
             "holds a previous trisim stage dump; --force replaces its files "
             "(only those its manifest lists)");
    }
    entry.merge = true;
    entry.owned = mine;
    // Inside DIR, so the files move by rename on the same file system.
    std::string temp = (fs::path(path) / ".trisim-partial-XXXXXX").string();
    if (!::mkdtemp(temp.data())) {
      Refuse(flag, given,
             std::string("cannot write in it (") + std::strerror(errno) + ")");
    }
    entry.temp = temp;
  } else {
    CheckParent(flag, path);
    std::string temp = TempTemplate(path);
    if (!::mkdtemp(temp.data())) {
      Refuse(flag, given,
             std::string("cannot write in ") + ParentOf(path) + " (" +
                 std::strerror(errno) + ")");
    }
    entry.temp = temp;
  }
  for (const Entry& e : entries_) {
    if (fs::weakly_canonical(e.path, ec) == fs::weakly_canonical(path, ec)) {
      fs::remove_all(entry.temp, ec);
      Refuse(flag, given, "is also the output of " + e.flag);
    }
  }
  entries_.push_back(std::move(entry));
  return entries_.back().temp;
}

void Outputs::Commit() {
  std::error_code ec;
  // Checks first: nothing is renamed unless every output can go in.
  for (const Entry& e : entries_) {
    // A file that appeared at a file output's path since it was declared.
    if (!e.directory && !force_ && Exists(e.path)) {
      Refuse(e.flag, e.path, kExists);
    }
    if (!e.merge) continue;
    const std::set<std::string> owned(e.owned.begin(), e.owned.end());
    for (const std::string& name : ListFiles(e.temp)) {
      if (fs::exists(fs::symlink_status(fs::path(e.path) / name, ec)) &&
          !owned.count(name)) {
        Refuse(e.flag, e.path,
               "holds a file " + name +
                   " that trisim did not write; refusing to replace it");
      }
    }
  }
  std::vector<std::string> published;  // new files, for a rollback
  for (Entry& e : entries_) {
    if (e.directory && e.merge) {
      const std::vector<std::string> fresh = ListFiles(e.temp);
      const std::set<std::string> keep(fresh.begin(), fresh.end());
      for (const std::string& name : fresh) {
        fs::rename(fs::path(e.temp) / name, fs::path(e.path) / name, ec);
        if (ec)
          Refuse(e.flag, e.path,
                 "cannot move " + name + " into place: " + ec.message());
      }
      for (const std::string& name : e.owned) {
        if (!keep.count(name)) fs::remove(fs::path(e.path) / name, ec);
      }
      fs::remove(e.temp, ec);
    } else {
      if (e.directory && fs::is_directory(e.path, ec)) {
        fs::remove(e.path, ec);  // empty (checked), so nothing is lost
      }
      if (!e.directory && !force_) {
        const int err = RenameNoReplace(e.temp, e.path);
        if (err != 0) {
          // Take back the files this Commit() created (they are ours), so
          // it publishes all or none; then report.
          for (const std::string& path : published) fs::remove(path, ec);
          Refuse(e.flag, e.path,
                 err == EEXIST ? std::string(kExists)
                               : "cannot move " + e.temp +
                                     " into place: " + std::strerror(err));
        }
        published.push_back(e.path);
      } else {
        fs::rename(e.temp, e.path, ec);
        if (ec) {
          Refuse(e.flag, e.path,
                 "cannot move " + e.temp + " into place: " + ec.message());
        }
      }
    }
    e.temp.clear();
  }
  committed_ = true;
}

Outputs::~Outputs() {
  std::error_code ec;
  for (const Entry& e : entries_) {
    if (!e.temp.empty()) fs::remove_all(e.temp, ec);
  }
}

}  // namespace trisim
