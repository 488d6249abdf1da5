// How a capability that speaks HTTP with libcurl (the LLM's remote engines, the Vault
// variables provider) performs one request without holding a thread while it waits: the
// caller sets up an easy handle as for curl_easy_perform, and perform_transfer drives it
// in a private curl multi, its guest's fiber parked through the Suspender until one of
// curl's sockets is ready or curl's timer is due. With no Suspender (set-up before
// serving, tests) it is curl_easy_perform.
#pragma once

#include <curl/curl.h>

#include <optional>

#include "base/suspender.hpp"

namespace gyre::spin {

// The transfer's result, or nothing when the guest was stopped while it waited (its
// deadline passed, its client left); the caller then reports kStoppedWhileWaiting.
std::optional<CURLcode> perform_transfer(CURL* easy, Suspender* suspender);

}  // namespace gyre::spin
