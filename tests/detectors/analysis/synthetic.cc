// SPDX-License-Identifier: Apache-2.0
// The labelled synthetic corpus (see synthetic.h). Shapes are functions of u in [0, 1] (the
// share of the window); noise, spikes and gaps are added per signal.
#include "synthetic.h"

#include <cmath>
#include <functional>
#include <vector>

namespace arenalab::analysis::synthetic {

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kStable:
      return "stable";
    case Kind::kLeak:
      return "leak";
    case Kind::kPlateau:
      return "plateau";
    case Kind::kSawtooth:
      return "sawtooth";
    case Kind::kRetention:
      return "retention";
    case Kind::kNonHeap:
      return "non-heap";
    case Kind::kBigLevelLeak:
      return "big-level leak";
    case Kind::kLongSawtooth:
      return "long sawtooth";
    case Kind::kOwnMmapPool:
      return "own-mmap pool";
    case Kind::kSaturation:
      return "saturation";
  }
  return "?";
}

double Generator::loguni(double a, double b) { return std::exp(uni(std::log(a), std::log(b))); }

namespace {
double frac(double x) { return x - std::floor(x); }
double smoothstep(double x) {
  x = std::clamp(x, 0.0, 1.0);
  return x * x * (3 - 2 * x);
}
}  // namespace

Case Generator::make(Kind kind) {
  Case c;
  c.kind = kind;
  const int n = static_cast<int>(uni(200, 1200));
  const double dt = 100;  // ms
  const double base = loguni(16.0 * (1 << 20), 2048.0 * (1 << 20));
  c.phi = uni(0, 0.95);
  c.sigma_pct = loguni(0.1, 2.0);
  const double sigma = c.sigma_pct / 100 * base;
  const double overhead = uni(0.05, 0.5) * base;

  double churn = -1;  // >= 0: noise of fixed size in bytes (a big level's churn), not % of level
  std::function<double(double)> held = [](double) { return 0.0; };  // added to base
  std::function<double(double)> rss = nullptr;                      // null: held + overhead
  std::function<double(double)> mmap = nullptr;
  std::function<double(double)> leak_part = nullptr;   // the leak alone (for oracle_z)
  std::function<double(double)> other_part = nullptr;  // what else moves held (oracle_z_shape)
  switch (kind) {
    case Kind::kStable:
      c.shape = "stable";
      break;
    case Kind::kLeak: {
      const double rate = loguni(0.005, 0.20) * base;  // bytes per window
      const double onset = chance(0.4) ? uni(0.1, 0.6) : 0.0;
      const bool steps = chance(0.35);
      const double step = uni(0.05, 0.2);
      c.shape = steps ? "leak/steps" : "leak/linear";
      if (onset > 0) c.shape += "+late";
      std::function<double(double)> leak = [=](double u) {
        const double x = std::max(0.0, u - onset);
        return rate * (steps ? std::floor(x / step) * step : x);
      };
      c.leak_growth_pct = 100 * leak(1.0) / base;
      leak_part = leak;
      std::function<double(double)> extra = [](double) { return 0.0; };
      if (chance(0.3)) {
        const double a = uni(0.1, 1.0) * base, tau = uni(0.02, 0.1);
        extra = [=](double u) { return a * (1 - std::exp(-u / tau)); };
        c.shape += "+warmup";
      } else if (chance(0.3)) {
        const double a = uni(0.1, 0.5) * base, cyc = uni(3, 20), ph = uni(0, 1);
        extra = [=](double u) { return a * frac(u * cyc + ph); };
        c.shape += "+sawtooth";
      }
      held = [=](double u) { return leak(u) + extra(u); };
      other_part = extra;
      break;
    }
    case Kind::kPlateau: {
      const double knee = uni(0.1, 0.9), start = uni(0, 0.5) * knee;
      const double amp = loguni(0.1, 2.0) * base;
      c.tail_fraction = 1 - knee;
      const int form = static_cast<int>(uni(0, 3));
      if (form == 0) {
        c.shape = "plateau/ramp";
        held = [=](double u) { return amp * std::clamp((u - start) / (knee - start), 0.0, 1.0); };
      } else if (form == 1) {
        // Exponential approach; the knee is where 99 % of the rise is done (4.6 time constants).
        c.shape = "plateau/exp";
        const double tau = (knee - start) / 4.6;
        held = [=](double u) { return u < start ? 0.0 : amp * (1 - std::exp(-(u - start) / tau)); };
      } else {
        c.shape = "plateau/smooth";
        held = [=](double u) { return amp * smoothstep((u - start) / (knee - start)); };
      }
      break;
    }
    case Kind::kSawtooth: {
      const double amp = uni(0.1, 1.0) * base, cyc = uni(3, 20), ph = uni(0, 1);
      held = [=](double u) { return amp * frac(u * cyc + ph); };
      c.shape = "sawtooth";
      if (chance(0.5)) {  // the allocator keeps the peak (glibc-like)
        c.shape += "/rss-peak";
        rss = [=](double u) { return overhead + amp * std::min(1.0, u * cyc + ph); };
      }
      break;
    }
    case Kind::kRetention: {
      const double amp = loguni(0.2, 2.0) * base;
      if (chance(0.5)) {
        // A burst: allocate, then free back near the baseline; RSS keeps most of the peak.
        c.shape = "retention/burst";
        const double t1 = uni(0.02, 0.3), d1 = uni(0.02, 0.15), hold = uni(0.0, 0.15);
        const double d2 = uni(0.02, 0.1), resid = uni(0, 0.02), decay = uni(0, 0.3);
        const double t2 = t1 + d1 + hold;
        const auto up = [=](double u) { return std::clamp((u - t1) / d1, 0.0, 1.0); };
        const auto down = [=](double u) { return std::clamp((u - t2) / d2, 0.0, 1.0); };
        held = [=](double u) { return amp * (up(u) - (1 - resid) * down(u)); };
        rss = [=](double u) { return overhead + amp * (up(u) - decay * down(u)); };
      } else {
        // Steady churn while the arenas creep up to a plateau (99 % at the knee).
        c.shape = "retention/creep";
        const double knee = uni(0.1, 0.7), tau = knee / 4.6;
        const double churn = uni(0, 0.05) * base, cyc = uni(5, 30);
        held = [=](double u) { return churn * frac(u * cyc); };
        rss = [=](double u) { return overhead + churn + amp * (1 - std::exp(-u / tau)); };
      }
      break;
    }
    case Kind::kNonHeap: {
      const double g = uni(0.05, 0.3) * base, onset = chance(0.3) ? uni(0.1, 0.3) : 0.0;
      c.shape = "non-heap/mmap";
      const auto m = [=](double u) { return g * std::max(0.0, u - onset) / (1 - onset); };
      rss = [=](double u) { return overhead + m(u); };
      if (chance(0.5)) mmap = [=](double u) { return (1 << 20) + m(u); };
      break;
    }
    case Kind::kBigLevelLeak: {
      // A server holding a big level (256 MiB - 2 GiB, reached in the first 2-15 % of the window)
      // that leaks 1-5 % of it over the window; its churn is of a size of its own, not a share
      // of the level: 1/64 to 1/4 of what the leak adds (the leak must be visible above it).
      // The level is drawn apart from the base level: where the base is above it (a fifth of the
      // draws), the start-up change is a fall to it, then the leak.
      c.shape = "leak/big-level";
      const double big = loguni(256.0 * (1 << 20), 2048.0 * (1 << 20)) - base;
      const double rate = loguni(0.01, 0.05) * (base + big), rise = uni(0.02, 0.15);
      churn = loguni(1.0 / 64, 0.25) * rate * (1 - rise);
      c.sigma_pct = 100 * churn / (base + big);
      c.leak_growth_pct = 100 * rate * (1 - rise) / (base + big);
      held = [=](double u) {
        return big * std::min(1.0, u / rise) + rate * std::max(0.0, u - rise);
      };
      leak_part = [=](double u) { return rate * std::max(0.0, u - rise); };
      other_part = [=](double u) { return big * std::min(1.0, u / rise); };
      break;
    }
    case Kind::kLongSawtooth: {
      // Grows to a peak over most of its period, frees everything, repeats: 2.5-8 cycles.
      const double amp = uni(0.1, 1.0) * base, cyc = uni(2.5, 8), ph = uni(0, 1);
      held = [=](double u) { return amp * frac(u * cyc + ph); };
      c.shape = "sawtooth/long";
      if (chance(0.5)) {
        c.shape += "/rss-peak";
        rss = [=](double u) { return overhead + amp * std::min(1.0, u * cyc + ph); };
      }
      break;
    }
    case Kind::kOwnMmapPool: {
      // A ring of anonymous mappings the program recycles oldest-first: its own mmap bytes and
      // RSS rise until the ring is full (5-50 % of the window), then stay; live bytes are flat.
      c.shape = "own-mmap/pool";
      const double ring = loguni(0.1, 2.0) * base, full = uni(0.05, 0.5);
      const auto m = [=](double u) { return ring * std::min(1.0, u / full); };
      rss = [=](double u) { return overhead + m(u); };
      mmap = [=](double u) { return (1 << 20) + m(u); };
      break;
    }
    case Kind::kSaturation: {
      // A cache approaching its bound exponentially from a start in the first 20 %, with a
      // time constant of 4-15 % of the window: within 5 % of the bound by the end.
      c.shape = "plateau/exp-approach";
      const double amp = loguni(0.1, 2.0) * base, start = uni(0, 0.2), tau = uni(0.04, 0.15);
      held = [=](double u) { return u < start ? 0.0 : amp * (1 - std::exp(-(u - start) / tau)); };
      c.headroom_pct = 100 * amp * std::exp(-(1 - start) / tau) / (base + amp);
      break;
    }
  }

  // Noise: AR(1) with marginal standard deviation sigma, independent per signal.
  const double sd = churn >= 0 ? churn : sigma;
  auto ar = [&](std::vector<double>& e) {
    const double innov = sd * std::sqrt(1 - c.phi * c.phi);
    double x = sd * normal();
    for (auto& v : e) {
      v = x;
      x = c.phi * x + innov * normal();
    }
  };
  std::vector<double> eh(n), er(n);
  ar(eh);
  ar(er);
  const bool spiky = chance(0.3);
  const bool use_allocated = chance(0.3);
  const double drop_p = chance(0.3) ? uni(0, 0.2) : 0.0;
  double gap0 = -1, gap1 = -1;
  if (chance(0.2)) {
    gap0 = uni(0.05, 0.8);
    gap1 = gap0 + uni(0.05, 0.15);
  }
  Series& h = use_allocated ? c.signals.allocated : c.signals.live_bytes;
  Series& r = c.signals.rss;
  std::vector<int> kept;              // sample indices taken (for oracle_z)
  std::vector<double> spike(n, 0.0);  // per 100 ms step (for sample_at)
  for (int i = 0; i < n; ++i) {
    const double u = static_cast<double>(i) / (n - 1);
    if (chance(drop_p) || (u >= gap0 && u < gap1)) continue;
    kept.push_back(i);
    const double t = i * dt + uni(-5, 5);
    double hv = base + held(u) + eh[static_cast<std::size_t>(i)];
    double rv = base + (rss ? rss(u) : held(u) + overhead) + er[static_cast<std::size_t>(i)];
    if (spiky && chance(0.01)) {
      const double s = uni(0.05, 0.5) * base;
      hv += s;
      rv += s;
      spike[static_cast<std::size_t>(i)] = s;
    }
    h.t_ms.push_back(t);
    h.value.push_back(hv);
    r.t_ms.push_back(t);
    r.value.push_back(rv);
    if (mmap) {
      c.signals.mmap_bytes.t_ms.push_back(t);
      c.signals.mmap_bytes.value.push_back(mmap(u) + 0.1 * eh[static_cast<std::size_t>(i)]);
    }
  }
  c.window_ms = (n - 1) * dt;
  c.sample_at = [=](const std::vector<double>& times) {
    Signals out;
    Series& oh = use_allocated ? out.allocated : out.live_bytes;
    for (double t : times) {
      const double u = t / ((n - 1) * dt);
      if (u < 0 || u > 1 || (u >= gap0 && u < gap1)) continue;
      const auto i = static_cast<std::size_t>(std::lround(t / dt));
      const double hv = base + held(u) + eh[i] + spike[i];
      const double rv = base + (rss ? rss(u) : held(u) + overhead) + er[i] + spike[i];
      oh.t_ms.push_back(t), oh.value.push_back(hv);
      out.rss.t_ms.push_back(t), out.rss.value.push_back(rv);
      if (mmap)
        out.mmap_bytes.t_ms.push_back(t), out.mmap_bytes.value.push_back(mmap(u) + 0.1 * eh[i]);
    }
    return out;
  };
  if (leak_part && kept.size() > 2 && sd > 0) {
    // Exact prewhitening of AR(1) over gaps of d samples: x_j - phi^d x_i has variance
    // sd^2 (1 - phi^2d); the first sample keeps sd^2. Whitened columns: the intercept and the
    // leak's shape; the information on the leak's amplitude is the shape's residual norm after
    // the intercept. One series gives z1; held and RSS carry the leak with independent noise.
    // Columns: 1 the intercept, 2 the leak's shape, 3 the rest of the held shape (warm-up,
    // sawtooth, start-up rise) when there is one, for oracle_z_shape.
    double s11 = 0, s12 = 0, s22 = 0, s13 = 0, s23 = 0, s33 = 0;
    const auto other = [&](double u) { return other_part ? other_part(u) : 0.0; };
    for (std::size_t k = 0; k < kept.size(); ++k) {
      const double u = static_cast<double>(kept[k]) / (n - 1);
      double w1 = 1, w2 = leak_part(u), w3 = other(u), sdev = sd;
      if (k > 0) {
        const int d = kept[k] - kept[k - 1];
        const double pd = std::pow(c.phi, d);
        const double up = static_cast<double>(kept[k - 1]) / (n - 1);
        w1 = 1 - pd;
        w2 = leak_part(u) - pd * leak_part(up);
        w3 = other(u) - pd * other(up);
        sdev = sd * std::sqrt(std::max(1e-300, 1 - pd * pd));
      }
      w1 /= sdev, w2 /= sdev, w3 /= sdev;
      s11 += w1 * w1, s12 += w1 * w2, s22 += w2 * w2;
      s13 += w1 * w3, s23 += w2 * w3, s33 += w3 * w3;
    }
    const double info = s22 - s12 * s12 / s11;  // per unit amplitude, one series
    const double g = leak_part(1.0);
    c.oracle_z = info > 0 && g > 0 ? std::sqrt(2 * info) : 0;  // held and RSS
    // The shape-knowing oracle: the rest of the held shape enters with an unknown amplitude
    // (Schur complement of the intercept and that column). RSS is left out: its shape differs
    // by class, so this z is of held alone.
    const double det = s11 * s33 - s13 * s13;
    double info3 = info;
    if (other_part && det > 1e-12 * s11 * s33)
      info3 = s22 - (s12 * (s33 * s12 - s13 * s23) + s23 * (s11 * s23 - s13 * s12)) / det;
    c.oracle_z_shape = info3 > 0 && g > 0 ? std::sqrt(info3) : 0;
  }
  return c;
}

}  // namespace arenalab::analysis::synthetic
