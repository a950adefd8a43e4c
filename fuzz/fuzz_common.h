// Shared helpers of the libFuzzer harnesses (fuzz/README.md).
//
// The contract every harness checks is the README's bad-input promise: any
// input either works or is refused with trisim::InputError. Anything else is
// a finding and aborts, so libFuzzer records the input: a crash or sanitizer
// report, an allocation over -malloc_limit_mb, a hang past -timeout, or an
// exception of another type (std::bad_alloc from a size a file claims,
// std::out_of_range from an unchecked conversion, ...).
//
// Harnesses that need files get them from a private temporary directory
// (one per process, emptied before every input). Multi-file inputs use a
// small text container so seeds stay readable and mutations stay useful:
//
//   first line            the spec or command line; "$D" stands for the
//                         temporary directory (single-file targets read
//                         the whole prefix before the first marker)
//   "\n--- NAME\n" BYTES  a file NAME (letters, digits, '_', '-', '.'; at
//                         most one DIR/ in front) with the bytes up to the
//                         next "\n--- " or the end
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "core/status.h"

namespace trisim::fuzz {

// The per-process scratch directory, created on first use and emptied
// (files only: harnesses write no subdirectories) by Reset().
class ScratchDir {
 public:
  static ScratchDir& Get();
  const std::string& path() const { return path_; }
  // Removes every file this process wrote into the directory.
  void Reset();
  // Writes `bytes` to path()/name and returns the full path, or "" when the
  // file cannot be created there (the caller skips such an input).
  std::string Write(const std::string& name, const std::string& bytes);

 private:
  ScratchDir();
  ~ScratchDir();
  std::string path_;
};

struct Container {
  std::string prefix;  // everything before the first file marker
  std::string head;    // first line of prefix
  std::vector<std::pair<std::string, std::string>> files;  // name, bytes
};

// Parses the container described above. Files with invalid names or
// duplicate names are dropped (the first one wins).
Container ParseContainer(const uint8_t* data, size_t size);

// The bytes of a file, or "\x01missing" when it cannot be read.
std::string ReadFile(const std::string& path);

// Replaces every "$D" in `text` with `dir`.
std::string SubstituteDir(const std::string& text, const std::string& dir);

// Runs `body`; an InputError is an accepted answer, any other exception is a
// finding: print it and abort so libFuzzer keeps the input.
template <typename Body>
void ExpectOnlyInputErrors(Body&& body) {
  try {
    body();
  } catch (const InputError&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz: uncaught %s: %s\n", typeid(e).name(), e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "fuzz: uncaught non-std exception\n");
    std::abort();
  }
}

}  // namespace trisim::fuzz
