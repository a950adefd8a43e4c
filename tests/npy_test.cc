// core/npy: round trips through trisim's own writer and reader, hand-built
// files for the reader paths numpy interop (tests/npy_numpy_test.py) also
// covers, and the bad-input messages.
#include "core/npy.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "core/status.h"

namespace {

std::string TempPath(const std::string& name) {
  return std::string(P_tmpdir) + "/trisim_npy_test_" + name;
}

bool Exists(const std::string& path) { return std::ifstream(path).good(); }

// A .npy file from a header dict and raw data, the way numpy lays it out.
void WriteRaw(const std::string& path, std::string header,
              const std::string& data, int major = 1) {
  const size_t prefix = major == 1 ? 10 : 12;
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out =
      std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0';
  const uint32_t len = static_cast<uint32_t>(header.size());
  for (size_t i = 0; i < prefix - 8; ++i)
    out += static_cast<char>((len >> (8 * i)) & 0xff);
  std::ofstream(path, std::ios::binary) << out << header << data;
}

std::string Bytes(const void* p, size_t n) {
  return std::string(static_cast<const char*>(p), n);
}

std::string ErrorOf(const std::string& path) {
  try {
    trisim::ReadNpy(path);
  } catch (const trisim::InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("npy: write then read every dtype, same bytes and shape",
          "[core][npy]") {
  using trisim::NpyDType;
  for (NpyDType dtype :
       {NpyDType::kFloat16, NpyDType::kBFloat16, NpyDType::kFloat32,
        NpyDType::kFloat64, NpyDType::kInt8, NpyDType::kUInt8, NpyDType::kInt16,
        NpyDType::kUInt16, NpyDType::kInt32, NpyDType::kInt64}) {
    for (const std::vector<int64_t>& shape :
         {std::vector<int64_t>{}, {5}, {2, 3, 4}, {0, 7}}) {
      INFO(trisim::NpyDTypeName(dtype) << " rank " << shape.size());
      int64_t n = 1;
      for (int64_t d : shape) n *= d;
      std::vector<uint8_t> bytes(n * trisim::NpyItemSize(dtype));
      for (size_t i = 0; i < bytes.size(); ++i)
        bytes[i] = static_cast<uint8_t>(i * 37 + 11);
      const std::string path = TempPath("rt.npy");
      trisim::WriteNpy(path, trisim::MakeNpy(dtype, shape, bytes));
      CHECK_FALSE(Exists(path + ".tmp"));
      trisim::NpyArray back = trisim::ReadNpy(path);
      if (dtype == NpyDType::kBFloat16) {
        CHECK(back.dtype == NpyDType::kUInt16);  // bf16 travels as '<u2'
        back = trisim::AsBFloat16(back);
      }
      CHECK(back.dtype == dtype);
      CHECK(back.shape == shape);
      CHECK(back.bytes == bytes);
      // numpy requires the data offset to be a multiple of 64.
      std::ifstream f(path, std::ios::binary | std::ios::ate);
      CHECK((static_cast<size_t>(f.tellg()) - bytes.size()) % 64 == 0);
    }
  }
}

TEST_CASE("npy: big-endian, Fortran order and versions 2.0/3.0 are read",
          "[core][npy]") {
  const std::string path = TempPath("hand.npy");
  // A 2x3 int16 array [[1,2,3],[4,5,6]] stored big-endian in Fortran order:
  // column-major sequence 1,4,2,5,3,6.
  std::string data;
  for (int v : {1, 4, 2, 5, 3, 6})
    data += Bytes("\0", 1) + static_cast<char>(v);
  for (int major : {1, 2, 3}) {
    INFO("version " << major);
    WriteRaw(path, "{'descr': '>i2', 'fortran_order': True, 'shape': (2, 3), }",
             data, major);
    const trisim::NpyArray a = trisim::ReadNpy(path);
    CHECK(a.dtype == trisim::NpyDType::kInt16);
    CHECK(a.shape == std::vector<int64_t>{2, 3});
    CHECK(trisim::ToDoubles(a) == std::vector<double>{1, 2, 3, 4, 5, 6});
  }
  // Key order and spacing are free; a 0-d float64.
  const double pi = 3.25;
  WriteRaw(path, "{ 'shape' : ( ) , 'fortran_order':False,'descr':'<f8'}",
           Bytes(&pi, 8));
  const trisim::NpyArray s = trisim::ReadNpy(path);
  CHECK(s.shape.empty());
  CHECK(s.NumElements() == 1);
  CHECK(trisim::ToDoubles(s) == std::vector<double>{3.25});
}

TEST_CASE("npy: half and bfloat16 decoders are exact on every code",
          "[core][npy]") {
  // Reference written differently: bf16 is the top half of a binary32, and
  // binary16 is rebuilt from integer significand arithmetic.
  for (uint32_t b = 0; b < 65536; ++b) {
    const uint32_t f32 = b << 16;
    float f;
    std::memcpy(&f, &f32, 4);
    const double got = trisim::BFloat16BitsToDouble(static_cast<uint16_t>(b));
    if (std::isnan(f)) {
      CHECK(std::isnan(got));
    } else {
      CHECK(got == static_cast<double>(f));
    }
    const int e = (b >> 10) & 31, m = b & 1023;
    const double sign = (b & 0x8000) ? -1.0 : 1.0;
    const double h = trisim::HalfBitsToDouble(static_cast<uint16_t>(b));
    if (e == 31) {
      CHECK((m == 0 ? std::isinf(h) && h * sign > 0 : std::isnan(h)));
    } else {
      const long double mag = e == 0 ? m / 16777216.0L  // m * 2^-24
                                     : (1024 + m) * std::pow(2.0L, e - 25);
      CHECK(h == static_cast<double>(sign * mag));
    }
  }
}

TEST_CASE("npy: bad input gives a one-line InputError naming the file",
          "[core][npy]") {
  const std::string path = TempPath("bad.npy");
  std::remove(path.c_str());
  CHECK_THAT(ErrorOf(path),
             Catch::Contains(path) && Catch::Contains("cannot open"));

  std::ofstream(path, std::ios::binary) << "NOTNPY....";
  CHECK_THAT(ErrorOf(path), Catch::Contains("bad magic"));

  WriteRaw(path, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }",
           std::string(16, 'x'));
  CHECK_THAT(ErrorOf(path), Catch::Contains("unsupported dtype '<c8'"));
  WriteRaw(path, "{'descr': '|f2', 'fortran_order': False, 'shape': (2,), }",
           std::string(4, 'x'));
  CHECK_THAT(ErrorOf(path), Catch::Contains("unsupported dtype"));

  WriteRaw(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
           std::string(11, 'x'));
  CHECK_THAT(ErrorOf(path), Catch::Contains("truncated data"));

  WriteRaw(path, "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (3,), }",
           std::string(12, 'x'));
  CHECK_THAT(ErrorOf(path), Catch::Contains("malformed"));
  WriteRaw(path, "{'descr': '<f4', 'shape': (3,), }", std::string(12, 'x'));
  CHECK_THAT(ErrorOf(path), Catch::Contains("malformed"));
  WriteRaw(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,-1), }",
           "");
  CHECK_THAT(ErrorOf(path), Catch::Contains("malformed"));

  WriteRaw(path,
           "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, "
           "4294967296), }",
           "");
  CHECK_THAT(ErrorOf(path), Catch::Contains("overflows"));

  for (const std::string& msg : {ErrorOf(path)})
    CHECK(msg.find('\n') == std::string::npos);
}

TEST_CASE("npy: a failed write leaves nothing behind", "[core][npy]") {
  const std::string path = TempPath("no_such_dir/x.npy");
  CHECK_THROWS_AS(trisim::WriteNpy(path, trisim::FromDoubles({1.0}, {1})),
                  trisim::InputError);
  CHECK_FALSE(Exists(path));
  CHECK_FALSE(Exists(path + ".tmp"));
  CHECK_THROWS_AS(trisim::AsBFloat16(trisim::FromDoubles({1.0}, {1})),
                  trisim::InputError);
}
