// .npy read and write (NumPy format versions 1.0, 2.0 and 3.0 on read; 1.0,
// or 2.0 when the header needs it, on write).
// Spec: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
//
// An NpyArray holds the raw little-endian element bytes in C (row-major)
// order: Fortran-order files are transposed to C order on read, big-endian
// files are byte-swapped. Decoding to double is exact for every dtype here
// (int64 beyond 2^53 excepted, see ToDoubles); encoding from double to a
// narrow float is a rounding decision and lives in quant/, not here.
//
// bfloat16: NumPy has no bfloat16 dtype, so trisim stores bf16 tensors as
// uint16 ('<u2') holding the raw bf16 bit patterns (the convention of
// ml_dtypes-free pipelines). A '<u2' file is therefore read as kUInt16 and the
// caller says whether to interpret it as bf16 (AsBFloat16).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace trisim {

enum class NpyDType {
  kFloat16,   // '<f2'
  kBFloat16,  // written as '<u2' (raw bf16 bits), see the note above
  kFloat32,   // '<f4'
  kFloat64,   // '<f8'
  kInt8,      // '|i1'
  kUInt8,     // '|u1'
  kInt16,     // '<i2'
  kUInt16,    // '<u2'
  kInt32,     // '<i4'
  kInt64,     // '<i8'
};

// Bytes per element.
size_t NpyItemSize(NpyDType dtype);
// NumPy descr string as written ('<f2', '|i1', ...; kBFloat16 -> '<u2').
std::string NpyDescr(NpyDType dtype);
// Human-readable name ("float16", "bfloat16", "int8", ...).
std::string NpyDTypeName(NpyDType dtype);

struct NpyArray {
  NpyDType dtype = NpyDType::kFloat64;
  std::vector<int64_t> shape;  // empty = scalar (one element)
  std::vector<uint8_t> bytes;  // C order, little-endian, NpyItemSize * count

  int64_t NumElements() const;  // product of shape (1 for a scalar)
};

// Reads a .npy file. Throws InputError naming the file and the problem for a
// missing file, bad magic, unsupported version, malformed header, an
// unsupported dtype (complex, object, structured, strings, bool, ...), or a
// data section shorter than the header promises.
NpyArray ReadNpy(const std::string& path);

// Writes a .npy file (C order). Writes to PATH.tmp and renames, so a failure
// never leaves a half-written file. Throws InputError if it cannot write.
void WriteNpy(const std::string& path, const NpyArray& array);

// Reinterprets a kUInt16 array as kBFloat16 (no bytes change). Throws
// InputError if the array is not uint16.
NpyArray AsBFloat16(NpyArray array);

// Every element converted exactly to double (fp16/bf16/fp32 widen exactly;
// integers up to 2^53 in magnitude are exact, int64 beyond that rounds to
// nearest even). NaN stays NaN, but fp16/bf16 NaN payloads are not kept;
// use the raw bytes when payloads matter.
std::vector<double> ToDoubles(const NpyArray& array);

// Builders for the exact cases: double -> float64 array, and integer data.
NpyArray FromDoubles(const std::vector<double>& values,
                     std::vector<int64_t> shape);
// Raw construction: `bytes` must hold NpyItemSize(dtype) * prod(shape) bytes.
NpyArray MakeNpy(NpyDType dtype, std::vector<int64_t> shape,
                 std::vector<uint8_t> bytes);

// Decoders for the 16-bit float formats, exact (used by ToDoubles; here
// because .npy needs them and core sits below quant).
double HalfBitsToDouble(uint16_t bits);
double BFloat16BitsToDouble(uint16_t bits);

}  // namespace trisim
