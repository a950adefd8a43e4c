// .npy read/write; see core/npy.h for the contract.
// Format spec:
// https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html (magic
// "\x93NUMPY", major/minor version byte, header length as little-endian uint16
// for 1.0 or uint32 for 2.0/3.0, then a Python dict literal with keys 'descr',
// 'fortran_order', 'shape', padded with spaces and ended by '\n').
#include "core/npy.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <utility>

#include "core/output_files.h"
#include "core/status.h"

namespace trisim {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
// numpy pads the header so that the data starts at a multiple of 64 bytes
// (numpy/lib/format.py ARRAY_ALIGN), which keeps mmap'd data aligned.
constexpr size_t kHeaderAlign = 64;

// Bad content of a file: exit 1 (core/status.h).
[[noreturn]] void Fail(const std::string& path, const std::string& what) {
  throw DataError(path + ": " + what);
}

// A path that cannot be opened or written: a usage error, exit 2.
[[noreturn]] void FailPath(const std::string& path, const std::string& what) {
  throw InputError(path + ": " + what);
}

// ---- A tiny parser for the header dict (a Python literal). -----------------
// Accepts exactly what numpy writes plus free whitespace and key order:
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& path)
      : text_(text), path_(path) {}

  void Parse(std::string* descr, bool* fortran, std::vector<int64_t>* shape) {
    bool have_descr = false, have_order = false, have_shape = false;
    Expect('{');
    while (true) {
      SkipSpace();
      if (Peek() == '}') break;
      const std::string key = ParseString();
      Expect(':');
      if (key == "descr") {
        *descr = ParseString();
        have_descr = true;
      } else if (key == "fortran_order") {
        *fortran = ParseBool();
        have_order = true;
      } else if (key == "shape") {
        *shape = ParseShape();
        have_shape = true;
      } else {
        Malformed("unexpected key '" + key + "'");
      }
      SkipSpace();
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      SkipSpace();
      if (Peek() != '}') Malformed("expected ',' or '}'");
    }
    ++pos_;
    if (!have_descr || !have_order || !have_shape) {
      Malformed("needs keys 'descr', 'fortran_order' and 'shape'");
    }
  }

 private:
  [[noreturn]] void Malformed(const std::string& why) {
    Fail(path_, "malformed .npy header (" + why + ")");
  }
  void SkipSpace() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' ||
            text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void Expect(char c) {
    SkipSpace();
    if (Peek() != c) Malformed(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string ParseString() {
    SkipSpace();
    const char quote = Peek();
    if (quote != '\'' && quote != '"') Malformed("expected a quoted string");
    const size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string::npos) Malformed("unterminated string");
    std::string s = text_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return s;
  }
  bool ParseBool() {
    SkipSpace();
    if (text_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (text_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    Malformed("fortran_order must be True or False");
  }
  std::vector<int64_t> ParseShape() {
    std::vector<int64_t> shape;
    Expect('(');
    while (true) {
      SkipSpace();
      if (Peek() == ')') break;
      if (Peek() < '0' || Peek() > '9')
        Malformed("shape must be a tuple of non-negative integers");
      int64_t dim = 0;
      while (Peek() >= '0' && Peek() <= '9') {
        const int digit = Peek() - '0';
        if (dim > (std::numeric_limits<int64_t>::max() - digit) / 10) {
          Fail(path_, "shape dimension too large");
        }
        dim = dim * 10 + digit;
        ++pos_;
      }
      // Python 2 era writers may append 'L' to longs.
      if (Peek() == 'L') ++pos_;
      shape.push_back(dim);
      SkipSpace();
      if (Peek() == ',') {
        ++pos_;
      } else if (Peek() != ')') {
        Malformed("expected ',' or ')' in shape");
      }
    }
    ++pos_;
    return shape;
  }

  const std::string& text_;
  const std::string& path_;
  size_t pos_ = 0;
};

// Maps a descr to a dtype; *big_endian reports the file's byte order.
// Returns false for anything trisim does not support.
bool ParseDescr(const std::string& descr, NpyDType* dtype, bool* big_endian) {
  if (descr.size() != 3) return false;
  const char order = descr[0];
  const std::string kind = descr.substr(1);
  struct Entry {
    const char* kind;
    NpyDType dtype;
  };
  static constexpr Entry kTable[] = {
      {"f2", NpyDType::kFloat16}, {"f4", NpyDType::kFloat32},
      {"f8", NpyDType::kFloat64}, {"i1", NpyDType::kInt8},
      {"u1", NpyDType::kUInt8},   {"i2", NpyDType::kInt16},
      {"u2", NpyDType::kUInt16},  {"i4", NpyDType::kInt32},
      {"i8", NpyDType::kInt64},
  };
  for (const Entry& e : kTable) {
    if (kind != e.kind) continue;
    const bool one_byte = NpyItemSize(e.dtype) == 1;
    // numpy writes '|' for byte-sized types and '<'/'>' otherwise; '=' is
    // native order, which numpy never writes but other writers might.
    if (order == '|' && !one_byte) return false;
    if (order != '<' && order != '>' && order != '|' && order != '=') {
      return false;
    }
    *dtype = e.dtype;
    *big_endian = order == '>';
    return true;
  }
  return false;
}

// Product of dims times item size, or throws on overflow.
size_t CheckedByteCount(const std::vector<int64_t>& shape, size_t item,
                        const std::string& path) {
  // Keep total bytes below 2^62 so size_t/streamsize arithmetic is safe.
  constexpr uint64_t kLimit = uint64_t{1} << 62;
  uint64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0) Fail(path, "negative dimension in shape");
    if (d != 0 && count > kLimit / static_cast<uint64_t>(d)) {
      Fail(path, "shape product overflows (more than 2^62 bytes)");
    }
    count *= static_cast<uint64_t>(d);
  }
  if (count != 0 && count > kLimit / item) {
    Fail(path, "shape product overflows (more than 2^62 bytes)");
  }
  return static_cast<size_t>(count * item);
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    text += (i ? ", " : "") + std::to_string(shape[i]);
  }
  return text + (shape.size() == 1 ? ",)" : ")");
}

void ByteSwapElements(std::vector<uint8_t>* bytes, size_t item) {
  if (item == 1) return;
  for (size_t i = 0; i < bytes->size(); i += item) {
    std::reverse(bytes->begin() + i, bytes->begin() + i + item);
  }
}

// Fortran order (first index fastest) -> C order (last index fastest).
std::vector<uint8_t> FortranToC(const std::vector<uint8_t>& src,
                                const std::vector<int64_t>& shape,
                                size_t item) {
  const size_t ndim = shape.size();
  if (ndim < 2) return src;
  std::vector<uint8_t> dst(src.size());
  std::vector<int64_t> c_stride(ndim, 1);
  for (size_t d = ndim - 1; d > 0; --d)
    c_stride[d - 1] = c_stride[d] * shape[d];
  std::vector<int64_t> index(ndim, 0);
  const size_t count = src.size() / item;
  // Walk the source in its storage order, odometer-style with dim 0 fastest.
  for (size_t f = 0; f < count; ++f) {
    int64_t c = 0;
    for (size_t d = 0; d < ndim; ++d) c += index[d] * c_stride[d];
    std::memcpy(&dst[static_cast<size_t>(c) * item], &src[f * item], item);
    for (size_t d = 0; d < ndim; ++d) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
  return dst;
}

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// A binary16-like decoder: sign, `exp_bits` exponent, `man_bits` mantissa.
double DecodeSmallFloat(uint32_t bits, int exp_bits, int man_bits) {
  const uint32_t sign = bits >> (exp_bits + man_bits);
  const uint32_t exp = (bits >> man_bits) & ((1u << exp_bits) - 1);
  const uint32_t man = bits & ((1u << man_bits) - 1);
  const int bias = (1 << (exp_bits - 1)) - 1;
  double mag;
  if (exp == (1u << exp_bits) - 1) {
    mag = man == 0 ? std::numeric_limits<double>::infinity()
                   : std::numeric_limits<double>::quiet_NaN();
  } else if (exp == 0) {
    mag = std::ldexp(static_cast<double>(man), 1 - bias - man_bits);
  } else {
    mag = std::ldexp(static_cast<double>(man | (1u << man_bits)),
                     static_cast<int>(exp) - bias - man_bits);
  }
  return sign ? -mag : mag;
}

}  // namespace

size_t NpyItemSize(NpyDType dtype) {
  switch (dtype) {
    case NpyDType::kInt8:
    case NpyDType::kUInt8:
      return 1;
    case NpyDType::kFloat16:
    case NpyDType::kBFloat16:
    case NpyDType::kInt16:
    case NpyDType::kUInt16:
      return 2;
    case NpyDType::kFloat32:
    case NpyDType::kInt32:
      return 4;
    case NpyDType::kFloat64:
    case NpyDType::kInt64:
      return 8;
  }
  TRISIM_ASSERT(false);
}

std::string NpyDescr(NpyDType dtype) {
  switch (dtype) {
    case NpyDType::kFloat16:
      return "<f2";
    case NpyDType::kBFloat16:
      return "<u2";
    case NpyDType::kFloat32:
      return "<f4";
    case NpyDType::kFloat64:
      return "<f8";
    case NpyDType::kInt8:
      return "|i1";
    case NpyDType::kUInt8:
      return "|u1";
    case NpyDType::kInt16:
      return "<i2";
    case NpyDType::kUInt16:
      return "<u2";
    case NpyDType::kInt32:
      return "<i4";
    case NpyDType::kInt64:
      return "<i8";
  }
  TRISIM_ASSERT(false);
}

std::string NpyDTypeName(NpyDType dtype) {
  switch (dtype) {
    case NpyDType::kFloat16:
      return "float16";
    case NpyDType::kBFloat16:
      return "bfloat16";
    case NpyDType::kFloat32:
      return "float32";
    case NpyDType::kFloat64:
      return "float64";
    case NpyDType::kInt8:
      return "int8";
    case NpyDType::kUInt8:
      return "uint8";
    case NpyDType::kInt16:
      return "int16";
    case NpyDType::kUInt16:
      return "uint16";
    case NpyDType::kInt32:
      return "int32";
    case NpyDType::kInt64:
      return "int64";
  }
  TRISIM_ASSERT(false);
}

int64_t NpyArray::NumElements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

NpyArray ReadNpy(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) {
    FailPath(path, std::string("cannot open (") + std::strerror(errno) + ")");
  }
  // Every size the file declares is checked against what it holds before
  // anything is allocated: a 12-byte file claiming a 4 GB header or a
  // 79-byte one claiming a 2 GB shape is an error, not an allocation.
  const std::streamoff end = in.tellg();
  if (end < 0) FailPath(path, "cannot read (not a regular file?)");
  const uint64_t file_size = static_cast<uint64_t>(end);
  in.seekg(0);

  char prefix[kMagicSize + 2];
  if (!in.read(prefix, sizeof(prefix)) ||
      std::memcmp(prefix, kMagic, kMagicSize) != 0) {
    Fail(path, "not a .npy file (bad magic)");
  }
  const int major = static_cast<uint8_t>(prefix[kMagicSize]);
  if (major < 1 || major > 3) {
    Fail(path, "unsupported .npy version " + std::to_string(major) +
                   " (allowed: 1, 2, 3)");
  }
  // Version 1.0 stores the header length in 2 bytes, 2.0 and 3.0 in 4.
  const size_t len_bytes = major == 1 ? 2 : 4;
  uint8_t len_buf[4] = {0, 0, 0, 0};
  if (!in.read(reinterpret_cast<char*>(len_buf), len_bytes)) {
    Fail(path, "truncated .npy header");
  }
  const uint32_t header_len = len_buf[0] | (len_buf[1] << 8) |
                              (len_buf[2] << 16) |
                              (static_cast<uint32_t>(len_buf[3]) << 24);
  const uint64_t prefix_size = kMagicSize + 2 + len_bytes;
  if (header_len > file_size - prefix_size) {
    Fail(path, "truncated .npy header: it declares " +
                   std::to_string(header_len) + " bytes, the file holds " +
                   std::to_string(file_size - prefix_size) +
                   " after the prefix");
  }
  std::string header(header_len, '\0');
  if (!in.read(header.data(), header_len)) Fail(path, "truncated .npy header");

  std::string descr;
  bool fortran = false;
  std::vector<int64_t> shape;
  HeaderParser(header, path).Parse(&descr, &fortran, &shape);

  NpyArray array;
  bool big_endian = false;
  if (!ParseDescr(descr, &array.dtype, &big_endian)) {
    Fail(path, "unsupported dtype '" + descr +
                   "' (allowed: float16, float32, float64, int8, uint8, "
                   "int16, uint16, int32, int64)");
  }
  array.shape = std::move(shape);
  const size_t item = NpyItemSize(array.dtype);
  const size_t nbytes = CheckedByteCount(array.shape, item, path);

  const uint64_t data_size = file_size - prefix_size - header_len;
  if (nbytes > data_size) {
    Fail(path, "truncated data: the header's shape " + ShapeText(array.shape) +
                   " of " + NpyDTypeName(array.dtype) + " needs " +
                   std::to_string(nbytes) + " bytes, the file holds " +
                   std::to_string(data_size));
  }
  array.bytes.resize(nbytes);
  if (nbytes > 0 && !in.read(reinterpret_cast<char*>(array.bytes.data()),
                             static_cast<std::streamsize>(nbytes))) {
    FailPath(path, "read failed after " + std::to_string(in.gcount()) + " of " +
                       std::to_string(nbytes) + " data bytes");
  }
  if (big_endian) ByteSwapElements(&array.bytes, item);
  if (fortran) array.bytes = FortranToC(array.bytes, array.shape, item);
  return array;
}

void WriteNpy(const std::string& path, const NpyArray& array) {
  const size_t item = NpyItemSize(array.dtype);
  const size_t nbytes = CheckedByteCount(array.shape, item, path);
  TRISIM_ASSERT(array.bytes.size() == nbytes);

  std::string shape = "(";
  for (size_t i = 0; i < array.shape.size(); ++i) {
    if (i > 0) shape += ", ";
    shape += std::to_string(array.shape[i]);
  }
  if (array.shape.size() == 1) shape += ",";  // Python's 1-tuple
  shape += ")";
  std::string header = "{'descr': '" + NpyDescr(array.dtype) +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Version 1.0 unless the header does not fit its 16-bit length field.
  const bool v2 = header.size() + 1 + kMagicSize + 4 > 65535;
  const size_t prefix = kMagicSize + 2 + (v2 ? 4 : 2);
  const size_t total = prefix + header.size() + 1;
  header.append((kHeaderAlign - total % kHeaderAlign) % kHeaderAlign, ' ');
  header += '\n';

  std::string out(kMagic, kMagicSize);
  out += static_cast<char>(v2 ? 2 : 1);
  out += '\0';
  const uint32_t len = static_cast<uint32_t>(header.size());
  out += static_cast<char>(len & 0xff);
  out += static_cast<char>((len >> 8) & 0xff);
  if (v2) {
    out += static_cast<char>((len >> 16) & 0xff);
    out += static_cast<char>((len >> 24) & 0xff);
  }
  out += header;

  // A fresh sibling (never PATH.tmp, which may be someone's file), renamed
  // into place when complete.
  const std::string tmp = CreateTempSibling(path);
  {
    std::ofstream file(tmp, std::ios::binary | std::ios::trunc);
    if (!file) {
      const std::string why = std::strerror(errno);
      std::remove(tmp.c_str());
      FailPath(path, "cannot write (" + why + ")");
    }
    file.write(out.data(), static_cast<std::streamsize>(out.size()));
    file.write(reinterpret_cast<const char*>(array.bytes.data()),
               static_cast<std::streamsize>(nbytes));
    file.flush();
    if (!file) {
      file.close();
      std::remove(tmp.c_str());
      FailPath(path, "write failed");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    FailPath(path, "cannot rename temporary file into place (" + why + ")");
  }
}

NpyArray AsBFloat16(NpyArray array) {
  if (array.dtype != NpyDType::kUInt16 && array.dtype != NpyDType::kBFloat16) {
    throw InputError(
        "bfloat16 input must be stored as uint16 ('<u2') raw bits, got " +
        NpyDTypeName(array.dtype));
  }
  array.dtype = NpyDType::kBFloat16;
  return array;
}

std::vector<double> ToDoubles(const NpyArray& array) {
  const size_t item = NpyItemSize(array.dtype);
  const size_t n = array.bytes.size() / item;
  std::vector<double> out(n);
  const uint8_t* p = array.bytes.data();
  for (size_t i = 0; i < n; ++i, p += item) {
    switch (array.dtype) {
      case NpyDType::kFloat16:
        out[i] = HalfBitsToDouble(Load<uint16_t>(p));
        break;
      case NpyDType::kBFloat16:
        out[i] = BFloat16BitsToDouble(Load<uint16_t>(p));
        break;
      case NpyDType::kFloat32:
        out[i] = Load<float>(p);
        break;
      case NpyDType::kFloat64:
        out[i] = Load<double>(p);
        break;
      case NpyDType::kInt8:
        out[i] = Load<int8_t>(p);
        break;
      case NpyDType::kUInt8:
        out[i] = Load<uint8_t>(p);
        break;
      case NpyDType::kInt16:
        out[i] = Load<int16_t>(p);
        break;
      case NpyDType::kUInt16:
        out[i] = Load<uint16_t>(p);
        break;
      case NpyDType::kInt32:
        out[i] = Load<int32_t>(p);
        break;
      case NpyDType::kInt64:
        out[i] = static_cast<double>(Load<int64_t>(p));
        break;
    }
  }
  return out;
}

NpyArray FromDoubles(const std::vector<double>& values,
                     std::vector<int64_t> shape) {
  NpyArray array;
  array.dtype = NpyDType::kFloat64;
  array.shape = std::move(shape);
  TRISIM_ASSERT(static_cast<int64_t>(values.size()) == array.NumElements());
  array.bytes.resize(values.size() * sizeof(double));
  if (!values.empty())
    std::memcpy(array.bytes.data(), values.data(), array.bytes.size());
  return array;
}

NpyArray MakeNpy(NpyDType dtype, std::vector<int64_t> shape,
                 std::vector<uint8_t> bytes) {
  NpyArray array;
  array.dtype = dtype;
  array.shape = std::move(shape);
  TRISIM_ASSERT(static_cast<int64_t>(bytes.size()) ==
                array.NumElements() * static_cast<int64_t>(NpyItemSize(dtype)));
  array.bytes = std::move(bytes);
  return array;
}

// IEEE binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits.
double HalfBitsToDouble(uint16_t bits) { return DecodeSmallFloat(bits, 5, 10); }

// bfloat16: the top half of an IEEE binary32: 1 sign, 8 exponent (bias 127),
// 7 mantissa bits.
double BFloat16BitsToDouble(uint16_t bits) {
  return DecodeSmallFloat(bits, 8, 7);
}

}  // namespace trisim
