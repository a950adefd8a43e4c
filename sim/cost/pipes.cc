#include "sim/cost/pipes.h"

namespace trisim {

const char* PipeName(Pipe pipe) {
  switch (pipe) {
    case Pipe::kCubeMte2:
      return "MTE2.cube";
    case Pipe::kMte1:
      return "MTE1";
    case Pipe::kCube:
      return "M";
    case Pipe::kFix:
      return "FIX";
    case Pipe::kVecMte2:
      return "MTE2.vector";
    case Pipe::kVector:
      return "V";
    case Pipe::kMte3:
      return "MTE3";
    case Pipe::kGm:
      return "GM";
  }
  return "?";
}

const char* UnitName(Unit unit) {
  switch (unit) {
    case Unit::kNone:
      return "none";
    case Unit::kCube:
      return "cube";
    case Unit::kVector:
      return "vector";
  }
  return "?";
}

bool IsVectorCorePipe(Pipe pipe) {
  return pipe == Pipe::kVecMte2 || pipe == Pipe::kVector || pipe == Pipe::kMte3;
}

}  // namespace trisim
