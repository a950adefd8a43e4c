#include "fuzz/fuzz_common.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

namespace fs = std::filesystem;

namespace trisim::fuzz {

ScratchDir::ScratchDir() {
  std::string tmpl =
      (fs::temp_directory_path() / "trisim-fuzz-XXXXXX").string();
  std::vector<char> buffer(tmpl.begin(), tmpl.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) {
    std::perror("fuzz: mkdtemp");
    std::abort();
  }
  path_ = buffer.data();
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

ScratchDir& ScratchDir::Get() {
  static ScratchDir dir;
  return dir;
}

void ScratchDir::Reset() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(path_, ec)) {
    fs::remove_all(entry.path(), ec);
  }
}

std::string ScratchDir::Write(const std::string& name,
                              const std::string& bytes) {
  const std::string path = path_ + "/" + name;
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  // A layout the scratch directory cannot hold (e.g. a file where another
  // input file needs a directory): not a finding about trisim.
  if (!out) return "";
  return path;
}

namespace {

bool ValidComponent(const std::string& name) {
  if (name.empty() || name.size() > 64 || name == "." || name == "..") {
    return false;
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// NAME or DIR/NAME (one level of subdirectory).
bool ValidName(const std::string& name) {
  const auto slash = name.find('/');
  if (slash == std::string::npos) return ValidComponent(name);
  return ValidComponent(name.substr(0, slash)) &&
         ValidComponent(name.substr(slash + 1));
}

}  // namespace

Container ParseContainer(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  static const std::string kMarker = "\n--- ";
  Container c;
  size_t pos = text.find(kMarker);
  c.prefix = text.substr(0, pos);
  c.head = c.prefix.substr(0, c.prefix.find('\n'));
  std::set<std::string> seen;
  while (pos != std::string::npos) {
    const size_t name_begin = pos + kMarker.size();
    const size_t name_end = text.find('\n', name_begin);
    if (name_end == std::string::npos) break;
    const size_t next = text.find(kMarker, name_end);
    const std::string name = text.substr(name_begin, name_end - name_begin);
    const size_t body_end = next == std::string::npos ? text.size() : next;
    if (ValidName(name) && seen.insert(name).second) {
      const size_t body_begin = name_end + 1;
      c.files.emplace_back(name,
                           body_end > body_begin
                               ? text.substr(body_begin, body_end - body_begin)
                               : std::string());
    }
    pos = next;
  }
  return c;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "\x01missing";
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

std::string SubstituteDir(const std::string& text, const std::string& dir) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == 'D') {
      out += dir;
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace trisim::fuzz
