#include "quant/format.h"

#include <array>
#include <cmath>

#include "core/status.h"

namespace trisim::quant {
namespace {

template <Format F>
constexpr FormatInfo MakeInfo() {
  using T = FormatTraits<F>;
  FormatInfo info{};
  info.format = F;
  info.name = T::kName;
  info.is_float = T::kIsFloat;
  info.storage_bits = T::kStorageBits;
  info.specials = T::kSpecials;
  info.storage_shift = T::kStorageShift;
  info.conversion = T::kConversion;
  info.min_int = T::kMin;
  info.max_int = T::kMax;
  if constexpr (T::kIsFloat) {
    info.exponent_bits = T::kExponentBits;
    info.mantissa_bits = T::kMantissaBits;
    info.bias = (1 << (T::kExponentBits - 1)) - 1;
    info.emin = 1 - info.bias;
    const uint32_t all_ones_exp = (1u << T::kExponentBits) - 1;
    if (T::kSpecials == Specials::kIeee) {
      // Largest finite: exponent field all-ones minus one, mantissa all ones.
      info.max_finite_code = (all_ones_exp << T::kMantissaBits) - 1;
      info.has_inf = true;
    } else {
      // FN: the all-ones exponent is finite except mantissa all ones (NaN).
      info.max_finite_code = ((all_ones_exp + 1) << T::kMantissaBits) - 2;
      info.has_inf = false;
    }
    info.emax =
        static_cast<int>(info.max_finite_code >> T::kMantissaBits) - info.bias;
  }
  return info;
}

const std::array<FormatInfo, kNumFormats>& Table() {
  static const std::array<FormatInfo, kNumFormats> table = [] {
    std::array<FormatInfo, kNumFormats> t = {
        MakeInfo<Format::kFp32>(),    MakeInfo<Format::kFp16>(),
        MakeInfo<Format::kBf16>(),    MakeInfo<Format::kHf32>(),
        MakeInfo<Format::kTf32>(),    MakeInfo<Format::kFp8E4M3>(),
        MakeInfo<Format::kFp8E5M2>(), MakeInfo<Format::kInt4>(),
        MakeInfo<Format::kInt8>(),    MakeInfo<Format::kUInt8>(),
        MakeInfo<Format::kInt16>(),   MakeInfo<Format::kInt32>(),
        MakeInfo<Format::kInt48>(),   MakeInfo<Format::kInt64>(),
    };
    // The double-valued limits need ldexp, which is not constexpr in C++17.
    for (FormatInfo& f : t) {
      TRISIM_ASSERT(&f - t.data() == static_cast<int>(f.format));
      if (!f.is_float) continue;
      const uint32_t m = f.max_finite_code & ((1u << f.mantissa_bits) - 1);
      f.max_finite =
          std::ldexp(static_cast<double>(m | (1u << f.mantissa_bits)),
                     f.emax - f.mantissa_bits);
      f.min_normal = std::ldexp(1.0, f.emin);
      f.min_subnormal = std::ldexp(1.0, f.emin - f.mantissa_bits);
    }
    return t;
  }();
  return table;
}

}  // namespace

const FormatInfo& GetFormatInfo(Format format) {
  return Table()[static_cast<size_t>(format)];
}

const char* FormatName(Format format) { return GetFormatInfo(format).name; }

std::string AllFormatNames() {
  std::string names;
  for (const FormatInfo& f : Table()) {
    if (!names.empty()) names += ", ";
    names += f.name;
  }
  return names;
}

Format ParseFormat(const std::string& name, const std::string& what) {
  for (const FormatInfo& f : Table()) {
    if (name == f.name) return f.format;
  }
  if (name == "fp8_e4m3" || name == "e4m3fn") return Format::kFp8E4M3;
  if (name == "fp8_e5m2") return Format::kFp8E5M2;
  throw InputError(what + ": unknown format '" + name +
                   "' (allowed: " + AllFormatNames() + ")");
}

}  // namespace trisim::quant
