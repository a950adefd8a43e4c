// Implementation pending (see core/npy.h).
#include "core/npy.h"
