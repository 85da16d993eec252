// SPDX-License-Identifier: Apache-2.0
// The report's inline stylesheet and script (from reports/templates/, compiled in).
#pragma once

namespace arenalab::reports::detail {
const char* report_css();
const char* report_js();
}  // namespace arenalab::reports::detail
