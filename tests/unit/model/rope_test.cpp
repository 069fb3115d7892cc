// rope_inv_freq: the default table and llama3 scaling's three frequency bands.
#include "model/rope.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "core/error.h"
#include "model/dummy_presets.h"

namespace swallow {
namespace {

TEST(Rope, DefaultTableIsInverseThetaPowers) {
  ModelConfig c;
  c.head_dim = 64;
  c.rope_theta = 10000.0;
  const std::vector<float> f = rope_inv_freq(c);
  ASSERT_EQ(f.size(), 32u);
  EXPECT_EQ(f[0], 1.0f);
  for (size_t i = 0; i < f.size(); ++i) {
    const double exact = std::pow(10000.0, -2.0 * static_cast<double>(i) / 64.0);
    EXPECT_NEAR(f[i], exact, exact * 3e-7) << i;
  }
}

TEST(Rope, Llama3ScalingKeepsHighDividesLowAndBlendsMiddleFrequencies) {
  ModelConfig scaled = dummy_preset_config("llama3.1-8b");
  ModelConfig plain = scaled;
  plain.rope_scaling.rope_type = "default";
  const std::vector<float> s = rope_inv_freq(scaled), p = rope_inv_freq(plain);
  ASSERT_EQ(s.size(), 64u);
  int kept = 0, divided = 0, blended = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const double wavelen = 2 * std::numbers::pi / p[i];
    if (wavelen < 8192.0 / 4) {
      EXPECT_EQ(s[i], p[i]) << i;
      ++kept;
    } else if (wavelen > 8192.0) {
      EXPECT_EQ(s[i], p[i] / 8.0f) << i;
      ++divided;
    } else {
      EXPECT_LT(s[i], p[i]) << i;
      EXPECT_GT(s[i], p[i] / 8.0f) << i;
      ++blended;
    }
  }
  EXPECT_GT(kept, 0);
  EXPECT_GT(divided, 0);
  EXPECT_GT(blended, 0);
}

TEST(Rope, UnknownRopeTypeIsUnsupported) {
  ModelConfig c;
  c.head_dim = 8;
  c.rope_scaling.rope_type = "yarn";
  EXPECT_THROW(rope_inv_freq(c), Error);
}

}  // namespace
}  // namespace swallow
