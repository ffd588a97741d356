// CSupport is header-only (static inline functions); this file gives the target a translation unit.
#include "CSupport.h"
