// Exit codes of the airlock CLI: stable, documented in the README, so scripts can branch on them.
#pragma once

#include "core/error.h"

namespace airlock::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;      // the operation failed (I/O, network, corrupt data, nothing fits)
inline constexpr int kExitBadInput = 2;     // bad flags or malformed input files
inline constexpr int kExitCredentials = 3;  // missing, wrong or insufficient credentials
inline constexpr int kExitInterrupted = 130;

int exit_code_for(ErrorCode code);

}  // namespace airlock::cli
