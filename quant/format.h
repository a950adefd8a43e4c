// Every number format a cube/vector pipeline uses, each declared once here
// with its layout and range (house style: one traits specialisation per
// format, after gemma.cpp compression/types.h). Rounding into a format lives
// in quant/round.h; this file only says what the formats are.
//
// Float codes are unsigned bit patterns (sign | exponent | mantissa) held in
// a uint32_t; integer formats hold their value in an int64_t.
#pragma once

#include <cstdint>
#include <string>

namespace trisim::quant {

enum class Format : uint8_t {
  kFp32,
  kFp16,
  kBf16,
  kHf32,
  kTf32,
  kFp8E4M3,
  kFp8E5M2,
  kInt4,
  kInt8,
  kUInt8,
  kInt16,
  kInt32,
  kInt48,
  kInt64,
};
constexpr int kNumFormats = 14;

// How a float format spends its all-ones exponent.
enum class Specials : uint8_t {
  kIeee,       // all-ones exponent: mantissa 0 = inf, otherwise NaN
  kFnNanOnly,  // OCP "FN": no inf; only S.1111.111 is NaN, the rest are finite
  kNone,       // integer formats
};

// How a value is rounded INTO a format. Most formats take the recipe's
// rounding mode (quant/round.h); a format whose only conversion instruction
// has a fixed rounding says so here, and every rounding into it uses that.
enum class Conversion : uint8_t {
  kAsRequested,  // the caller's (recipe's) rounding mode
  kNearestAway,  // round to nearest, ties away from zero, whatever is asked
};

template <Format F>
struct FormatTraits;

// IEEE 754 binary32: 1 sign, 8 exponent (bias 127), 23 mantissa bits.
// Max finite (2 - 2^-23) * 2^127 ~ 3.40e38; min normal 2^-126; min subnormal
// 2^-149.
template <>
struct FormatTraits<Format::kFp32> {
  static constexpr const char* kName = "fp32";
  static constexpr bool kIsFloat = true;
  static constexpr int kStorageBits = 32, kExponentBits = 8, kMantissaBits = 23;
  static constexpr Specials kSpecials = Specials::kIeee;
  static constexpr int kStorageShift = 0;
  static constexpr Conversion kConversion = Conversion::kAsRequested;
  static constexpr int64_t kMin = 0, kMax = 0;
};

// IEEE 754 binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits.
// Max finite 65504; min normal 2^-14; min subnormal 2^-24.
template <>
struct FormatTraits<Format::kFp16> {
  static constexpr const char* kName = "fp16";
  static constexpr bool kIsFloat = true;
  static constexpr int kStorageBits = 16, kExponentBits = 5, kMantissaBits = 10;
  static constexpr Specials kSpecials = Specials::kIeee;
  static constexpr int kStorageShift = 0;
  static constexpr Conversion kConversion = Conversion::kAsRequested;
  static constexpr int64_t kMin = 0, kMax = 0;
};

// bfloat16: the top half of binary32: 1 sign, 8 exponent (bias 127), 7
// mantissa bits. Max finite (2 - 2^-7) * 2^127 ~ 3.39e38; min normal 2^-126;
// min subnormal 2^-133.
template <>
struct FormatTraits<Format::kBf16> {
  static constexpr const char* kName = "bf16";
  static constexpr bool kIsFloat = true;
  static constexpr int kStorageBits = 16, kExponentBits = 8, kMantissaBits = 7;
  static constexpr Specials kSpecials = Specials::kIeee;
  static constexpr int kStorageShift = 0;
  static constexpr Conversion kConversion = Conversion::kAsRequested;
  static constexpr int64_t kMin = 0, kMax = 0;
};

// HF32 (Ascend cube): binary32 range with a 10-bit mantissa: 1 sign, 8
// exponent (bias 127), 10 mantissa bits, stored as a binary32 word whose 13
// low mantissa bits are zero (kStorageShift). Max finite (2 - 2^-10) * 2^127;
// min normal 2^-126; min subnormal 2^-136. Rounded with the recipe's mode
// (the device's HF32 conversion rounding is not public, DOMAIN.md).
template <>
struct FormatTraits<Format::kHf32> {
  static constexpr const char* kName = "hf32";
  static constexpr bool kIsFloat = true;
  static constexpr int kStorageBits = 32, kExponentBits = 8, kMantissaBits = 10;
  static constexpr Specials kSpecials = Specials::kIeee;
  static constexpr int kStorageShift = 13;
  static constexpr Conversion kConversion = Conversion::kAsRequested;
  static constexpr int64_t kMin = 0, kMax = 0;
};

// TF32 (NVIDIA TensorFloat-32, Ampere and later): the same layout as hf32
// (1 sign, 8 exponent, 10 mantissa bits in a binary32 word with 13 zero low
// bits), but converted as NVIDIA's only sm_80 conversion does it: PTX
// `cvt.rna.tf32.f32` rounds to nearest with ties AWAY from zero (PTX ISA,
// "cvt": .rna; what Triton's tf32x3 uses, triton-lang/triton
// lib/Dialect/TritonGPU/Transforms/F32DotTC.cpp). Without .satfinite an
// overflowing value becomes inf (IEEE overflow policy). So every rounding
// into tf32 is nearest-away, whatever the recipe's mode (kConversion).
// Note: a tensor-core MMA in tf32 mode reading an fp32 register that was
// NOT converted drops its low 13 bits (triton-lang/triton issue 4574: Triton
// passes fp32 registers to tf32 MMAs unconverted); that is toward-zero into
// hf32 layout, not this format.
template <>
struct FormatTraits<Format::kTf32> {
  static constexpr const char* kName = "tf32";
  static constexpr bool kIsFloat = true;
  static constexpr int kStorageBits = 32, kExponentBits = 8, kMantissaBits = 10;
  static constexpr Specials kSpecials = Specials::kIeee;
  static constexpr int kStorageShift = 13;
  static constexpr Conversion kConversion = Conversion::kNearestAway;
  static constexpr int64_t kMin = 0, kMax = 0;
};

// OCP FP8 E4M3 ("E4M3FN", OCP 8-bit Floating Point Specification v1.0):
// 1 sign, 4 exponent (bias 7), 3 mantissa bits; no infinities, the only NaN is
// S.1111.111, so S.1111.110 = 448 is the max finite. Min normal 2^-6; min
// subnormal 2^-9.
template <>
struct FormatTraits<Format::kFp8E4M3> {
  static constexpr const char* kName = "e4m3";
  static constexpr bool kIsFloat = true;
  static constexpr int kStorageBits = 8, kExponentBits = 4, kMantissaBits = 3;
  static constexpr Specials kSpecials = Specials::kFnNanOnly;
  static constexpr int kStorageShift = 0;
  static constexpr Conversion kConversion = Conversion::kAsRequested;
  static constexpr int64_t kMin = 0, kMax = 0;
};

// OCP FP8 E5M2: IEEE-like, 1 sign, 5 exponent (bias 15), 2 mantissa bits;
// inf and NaN as in IEEE. Max finite 57344; min normal 2^-14; min subnormal
// 2^-16.
template <>
struct FormatTraits<Format::kFp8E5M2> {
  static constexpr const char* kName = "e5m2";
  static constexpr bool kIsFloat = true;
  static constexpr int kStorageBits = 8, kExponentBits = 5, kMantissaBits = 2;
  static constexpr Specials kSpecials = Specials::kIeee;
  static constexpr int kStorageShift = 0;
  static constexpr Conversion kConversion = Conversion::kAsRequested;
  static constexpr int64_t kMin = 0, kMax = 0;
};

// Two's complement integers, range [kMin, kMax]. int4 is stored one value per
// int8 (device packing of two nibbles per byte is a layout question, not a
// number-format one). int48 is the hypothetical wide accumulator of an int16
// cube (../shared/docs/DOMAIN.md section 3).
#define TRISIM_INT_FORMAT(F, name, bits, lo, hi)                        \
  template <>                                                           \
  struct FormatTraits<F> {                                              \
    static constexpr const char* kName = name;                          \
    static constexpr bool kIsFloat = false;                             \
    static constexpr int kStorageBits = bits, kExponentBits = 0,        \
                         kMantissaBits = 0;                             \
    static constexpr Specials kSpecials = Specials::kNone;              \
    static constexpr int kStorageShift = 0;                             \
    static constexpr Conversion kConversion = Conversion::kAsRequested; \
    static constexpr int64_t kMin = lo, kMax = hi;                      \
  };
TRISIM_INT_FORMAT(Format::kInt4, "int4", 4, -8, 7)      // [-8, 7]
TRISIM_INT_FORMAT(Format::kInt8, "int8", 8, -128, 127)  // [-2^7, 2^7-1]
TRISIM_INT_FORMAT(Format::kUInt8, "uint8", 8, 0, 255)   // [0, 2^8-1]
TRISIM_INT_FORMAT(Format::kInt16, "int16", 16, -32768,
                  32767)  // [-2^15, 2^15-1]
TRISIM_INT_FORMAT(Format::kInt32, "int32", 32, -(int64_t{1} << 31),
                  (int64_t{1} << 31) - 1)
TRISIM_INT_FORMAT(Format::kInt48, "int48", 48, -(int64_t{1} << 47),
                  (int64_t{1} << 47) - 1)
TRISIM_INT_FORMAT(Format::kInt64, "int64", 64, INT64_MIN, INT64_MAX)
#undef TRISIM_INT_FORMAT

// Runtime view of FormatTraits<F>, with the derived range constants.
struct FormatInfo {
  Format format;
  const char* name;  // canonical lowercase name, as parsed
  bool is_float;
  int storage_bits;  // bits of the stored code / integer
  // Float formats only (zero for integers):
  int exponent_bits;
  int mantissa_bits;  // explicit fraction bits
  int bias;           // 2^(exponent_bits-1) - 1
  int emin;           // exponent of the min normal: 1 - bias
  int emax;           // exponent of the max finite
  Specials specials;
  int storage_shift;  // code << storage_shift is the stored word (hf32, tf32)
  Conversion conversion;     // fixed rounding into the format, if any
  uint32_t max_finite_code;  // magnitude code of the max finite value
  double max_finite;
  double min_normal;
  double min_subnormal;
  bool has_inf;
  // Integer formats only:
  int64_t min_int;
  int64_t max_int;
};

const FormatInfo& GetFormatInfo(Format format);
// Parses a canonical name (also accepts "fp8_e4m3", "e4m3fn", "fp8_e5m2").
// Throws InputError naming `what` and listing the allowed names.
Format ParseFormat(const std::string& name,
                   const std::string& what = "--format");
const char* FormatName(Format format);
// "fp32, fp16, bf16, ..." for help texts and errors.
std::string AllFormatNames();

inline bool IsFloat(Format f) { return GetFormatInfo(f).is_float; }

}  // namespace trisim::quant
