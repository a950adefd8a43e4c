// One factory per algorithm file; AllMethods() in core/methods.cc lists them.
#pragma once

#include "core/methods.h"

namespace trisim::methods {

MethodInfo VcsMethod();
MethodInfo FlaMethod();
MethodInfo MchMethod();
MethodInfo MbhMethod();
MethodInfo MxrMethod();
MethodInfo NsMethod();
MethodInfo NeumannMethod();
MethodInfo DnSplitMethod();

// Emitters reused across files.
void EmitMch(PlanBuilder& b, const MethodOptions& options, View l, View x);

}  // namespace trisim::methods
