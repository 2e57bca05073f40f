// The DPO loss: pair-level values and metrics against an independent float64 implementation of
// TRL's formulas (plain C++ below), identities at policy == reference, gradient directions, and the
// fused call against naive LibTorch autograd.
#include <gtest/gtest.h>

#include <torch/nn.h>

#include <cmath>
#include <map>

#include "editcaption/core/error.h"
#include "kernels/dpo_loss.h"
#include "tests/kernels/naive.h"

namespace ec {
namespace {

using kernels::DpoLossType;
using kernels::DpoOptions;
using kernels::DpoPairs;

// ---- float64 reference (TRL's dpo_loss; margin m inside the sigmoid as EditCaption v2) ----------

double log_sigmoid(double x) { return x >= 0 ? -std::log1p(std::exp(-x)) : x - std::log1p(std::exp(x)); }

struct Reference {
  std::vector<double> losses;
  double loss = 0;
  std::map<std::string, double> metrics;
};

Reference trl_reference(DpoLossType type, double beta, double eps, const std::vector<double>& c,
                        const std::vector<double>& r, const std::vector<double>& rc, const std::vector<double>& rr,
                        const std::vector<double>& m, const std::vector<double>& w) {
  Reference out;
  const size_t p = c.size();
  double sum = 0, rew_c = 0, rew_r = 0, acc = 0, marg = 0, lc = 0, lr = 0;
  for (size_t i = 0; i < p; ++i) {
    const double chosen_logratio = c[i] - rc[i], rejected_logratio = r[i] - rr[i];
    const double logits = chosen_logratio - rejected_logratio;
    const double mi = m.empty() ? 0.0 : m[i];
    const double h = beta * logits - mi;
    double l = 0;
    switch (type) {
      case DpoLossType::Sigmoid: l = -log_sigmoid(h) * (1 - eps) - log_sigmoid(-h) * eps; break;
      case DpoLossType::Robust: l = (-log_sigmoid(h) * (1 - eps) + log_sigmoid(-h) * eps) / (1 - 2 * eps); break;
      case DpoLossType::Hinge: l = std::max(0.0, 1 - h); break;
      case DpoLossType::Ipo: l = std::pow(logits - mi / beta - 1 / (2 * beta), 2); break;
    }
    out.losses.push_back(l);
    sum += (w.empty() ? 1.0 : w[i]) * l;
    const double cr = beta * chosen_logratio, rj = beta * rejected_logratio;
    rew_c += cr, rew_r += rj, acc += cr > rj ? 1 : 0, marg += cr - rj, lc += c[i], lr += r[i];
  }
  out.loss = sum / p;
  out.metrics = {{"rewards/chosen", rew_c / p}, {"rewards/rejected", rew_r / p}, {"rewards/accuracies", acc / p},
                 {"rewards/margins", marg / p}, {"logps/chosen", lc / p},       {"logps/rejected", lr / p}};
  return out;
}

torch::Tensor vec(const std::vector<double>& v) { return torch::tensor(v, torch::kDouble); }

const std::vector<double> kC{-12.5, -30.25, -7.0, -55.5, -20.0};
const std::vector<double> kR{-14.0, -29.0, -9.5, -50.0, -20.0};
const std::vector<double> kRC{-13.0, -31.0, -7.25, -54.0, -21.5};
const std::vector<double> kRR{-13.5, -28.0, -9.0, -52.0, -19.0};

TEST(DpoLoss, EveryVariantMatchesFloat64TrlReference) {
  const std::vector<double> margins{0.0, 0.3, -0.2, 1.0, 0.5};
  const std::vector<double> weights{1.0, 2.0, 0.5, 0.0, 1.5};
  struct Case {
    DpoLossType type;
    double eps;
    bool margin;
  };
  for (Case k : {Case{DpoLossType::Sigmoid, 0.0, false}, Case{DpoLossType::Sigmoid, 0.1, true},
                 Case{DpoLossType::Robust, 0.2, false}, Case{DpoLossType::Robust, 0.1, true},
                 Case{DpoLossType::Hinge, 0.0, false}, Case{DpoLossType::Hinge, 0.0, true},
                 Case{DpoLossType::Ipo, 0.0, false}, Case{DpoLossType::Ipo, 0.0, true}}) {
    for (double beta : {0.1, 0.5}) {
      SCOPED_TRACE(fmt::format("{} eps {} margin {} beta {}", config::enum_name(k.type), k.eps, k.margin, beta));
      DpoOptions o;
      o.loss_type = k.type;
      o.beta = beta;
      o.label_smoothing = k.eps;
      DpoPairs pairs{vec(kRC), vec(kRR), k.margin ? vec(margins) : torch::Tensor(), k.margin ? vec(weights) : torch::Tensor()};
      auto got = kernels::dpo_loss(vec(kC), vec(kR), pairs, o);
      Reference want = trl_reference(k.type, beta, k.eps, kC, kR, kRC, kRR, k.margin ? margins : std::vector<double>{},
                                     k.margin ? weights : std::vector<double>{});
      EXPECT_NEAR(got.loss.item<double>(), want.loss, 1e-6 * std::max(1.0, std::abs(want.loss)));
      for (size_t i = 0; i < kC.size(); ++i) EXPECT_NEAR(got.losses[i].item<double>(), want.losses[i], 1e-12);
      for (const auto& [name, value] : kernels::dpo_metrics(got)) {
        ASSERT_TRUE(want.metrics.count(name)) << name;
        EXPECT_NEAR(value.item<double>(), want.metrics.at(name), 1e-12) << name;
      }
    }
  }
}

TEST(DpoLoss, PolicyEqualToReferenceGivesLn2AndZeroRewards) {
  DpoOptions o;
  DpoPairs pairs{vec(kC), vec(kR), {}, {}};
  auto r = kernels::dpo_loss(vec(kC).to(torch::kFloat), vec(kR).to(torch::kFloat), pairs, o);
  EXPECT_EQ(r.loss.item<float>(), static_cast<float>(std::log(2.0)));
  EXPECT_TRUE(r.chosen_rewards.eq(0).all().item<bool>());
  EXPECT_TRUE(r.rejected_rewards.eq(0).all().item<bool>());
  for (const auto& [name, value] : kernels::dpo_metrics(r)) {
    if (name.rfind("rewards/", 0) == 0) {
      EXPECT_EQ(value.item<double>(), 0.0) << name;
    }
  }
}

TEST(DpoLoss, EveryVariantRaisesChosenAndLowersRejected) {
  for (DpoLossType type : {DpoLossType::Sigmoid, DpoLossType::Robust, DpoLossType::Hinge, DpoLossType::Ipo}) {
    SCOPED_TRACE(config::enum_name(type));
    DpoOptions o;
    o.loss_type = type;
    o.label_smoothing = type == DpoLossType::Robust || type == DpoLossType::Sigmoid ? 0.1 : 0.0;
    torch::Tensor c = vec(kC).requires_grad_(true), r = vec(kR).requires_grad_(true);
    // Policy at the reference: every variant is in its active region there.
    kernels::dpo_loss(c, r, DpoPairs{vec(kC), vec(kR), {}, {}}, o).loss.backward();
    EXPECT_TRUE(c.grad().lt(0).all().item<bool>()) << c.grad();
    EXPECT_TRUE(r.grad().gt(0).all().item<bool>()) << r.grad();
  }
}

TEST(DpoLoss, MarginWeightAndNormaliser) {
  DpoOptions o;
  DpoPairs plain{vec(kRC), vec(kRR), {}, {}};
  const double base = kernels::dpo_loss(vec(kC), vec(kR), plain, o).loss.item<double>();
  DpoPairs margin{vec(kRC), vec(kRR), torch::full({5}, 0.5, torch::kDouble), {}};
  EXPECT_GT(kernels::dpo_loss(vec(kC), vec(kR), margin, o).loss.item<double>(), base);
  DpoPairs zero_w{vec(kRC), vec(kRR), {}, torch::zeros({5}, torch::kDouble)};
  EXPECT_EQ(kernels::dpo_loss(vec(kC), vec(kR), zero_w, o).loss.item<double>(), 0.0);
  o.num_pairs = 50;
  EXPECT_NEAR(kernels::dpo_loss(vec(kC), vec(kR), plain, o).loss.item<double>(), base / 10, 1e-6);
}

TEST(DpoLoss, OptionErrors) {
  DpoPairs pairs{vec(kRC), vec(kRR), {}, {}};
  DpoOptions o;
  o.beta = 0;
  EXPECT_THROW(kernels::dpo_loss(vec(kC), vec(kR), pairs, o), UserError);
  o = {};
  o.loss_type = DpoLossType::Robust;
  o.label_smoothing = 0.5;
  EXPECT_THROW(kernels::dpo_loss(vec(kC), vec(kR), pairs, o), UserError);
  o = {};
  EXPECT_THROW(kernels::dpo_loss(vec(kC), vec(kR).narrow(0, 0, 3), pairs, o), UserError);
}

TEST(SequenceLogps, SumsMeansPaddingAndEmptySequences) {
  torch::Tensor lp = torch::tensor({-1.0f, -2.0f, -3.0f, -4.0f, -5.0f, -6.0f});
  torch::Tensor valid = torch::tensor({true, true, false, true, true, true});
  torch::Tensor seq = torch::tensor({0, 0, 0, 2, -1, 2}, torch::kLong);
  auto sums = kernels::sequence_logps(lp, valid, seq, 4, false);
  EXPECT_TRUE(sums.equal(torch::tensor({-3.0, 0.0, -10.0, 0.0}, torch::kDouble))) << sums;
  auto means = kernels::sequence_logps(lp, valid, seq, 4, true);
  EXPECT_TRUE(means.equal(torch::tensor({-1.5, 0.0, -5.0, 0.0}, torch::kDouble))) << means;
  EXPECT_THROW(kernels::sequence_logps(lp, valid, seq, 2, false), UserError);
}

// ---- the fused call against naive autograd --------------------------------------------------------

struct Batch {
  torch::Tensor hidden, weight, labels, seq, ref_c, ref_r;
  int64_t pairs = 3;
};

/// 2P sequences of 9 tokens each: 4 prompt tokens (ignored), 5 answer tokens, then 3 padding tokens.
Batch make_batch() {
  torch::manual_seed(21);
  Batch b;
  const int64_t per = 9, n = 2 * b.pairs * per + 3, d = 16, v = 43;
  b.hidden = torch::randn({n, d});
  b.weight = torch::randn({v, d}) / 4.0;
  b.labels = torch::randint(0, v, {n}, torch::kLong);
  b.seq = torch::full({n}, -1, torch::kLong);
  for (int64_t s = 0; s < 2 * b.pairs; ++s) {
    b.seq.narrow(0, s * per, per).fill_(s);
    b.labels.narrow(0, s * per, 4).fill_(-100);
  }
  b.labels.narrow(0, n - 3, 3).fill_(-100);
  b.ref_c = torch::randn({b.pairs}, torch::kDouble) - 15.0;
  b.ref_r = torch::randn({b.pairs}, torch::kDouble) - 15.0;
  return b;
}

/// Naive: full logits, log_softmax, gather, masked per-sequence sums, TRL's sigmoid loss; plus an
/// optional RPO term (mean NLL over the chosen answers' tokens).
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> naive_dpo(const Batch& b, double beta, double rpo_alpha,
                                                                  bool length_normalize) {
  torch::Tensor h = b.hidden.clone().requires_grad_(true), w = b.weight.clone().requires_grad_(true);
  torch::Tensor logp = test::naive_logprobs(h, w, b.labels).logp.to(torch::kDouble);
  torch::Tensor valid = b.labels.ne(-100);
  std::vector<torch::Tensor> seqs;
  for (int64_t s = 0; s < 2 * b.pairs; ++s) {
    torch::Tensor mask = b.seq.eq(s).logical_and(valid).to(torch::kDouble);
    seqs.push_back((logp * mask).sum() / (length_normalize ? mask.sum() : torch::ones({}, torch::kDouble)));
  }
  torch::Tensor all = torch::stack(seqs);
  torch::Tensor c = all.narrow(0, 0, b.pairs), r = all.narrow(0, b.pairs, b.pairs);
  torch::Tensor loss = -torch::log_sigmoid(beta * ((c - b.ref_c) - (r - b.ref_r))).mean();
  if (rpo_alpha > 0) {
    torch::Tensor chosen = b.seq.ge(0).logical_and(b.seq.lt(b.pairs)).logical_and(valid).to(torch::kDouble);
    loss = loss + rpo_alpha * (-(logp * chosen).sum() / chosen.sum());
  }
  loss.backward();
  return {loss.detach(), h.grad(), w.grad()};
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> fused_dpo(const Batch& b, double beta, double rpo_alpha,
                                                                  bool length_normalize) {
  torch::Tensor h = b.hidden.clone().requires_grad_(true), w = b.weight.clone().requires_grad_(true);
  DpoOptions o;
  o.beta = beta;
  o.length_normalize = length_normalize;
  o.logprobs.tiling.token_chunk = 7;
  o.logprobs.tiling.vocab_block = 11;
  auto d = kernels::fused_dpo_loss(h, w, b.labels, b.seq, DpoPairs{b.ref_c, b.ref_r, {}, {}}, o);
  torch::Tensor loss = d.loss.to(torch::kDouble);
  if (rpo_alpha > 0) {
    // RPO composed from the same pass (documented in kernels/dpo_loss.h).
    torch::Tensor chosen = b.seq.ge(0).logical_and(b.seq.lt(b.pairs)).logical_and(d.logprobs.valid);
    loss = loss + rpo_alpha * (-(d.token_logps.to(torch::kDouble) * chosen).sum() / chosen.sum());
  }
  loss.backward();
  return {loss.detach(), h.grad(), w.grad()};
}

TEST(FusedDpoLoss, MatchesNaiveAutograd) {
  Batch b = make_batch();
  for (bool norm : {false, true}) {
    for (double alpha : {0.0, 0.7}) {
      SCOPED_TRACE(fmt::format("length_normalize {} rpo {}", norm, alpha));
      auto [fl, fh, fw] = fused_dpo(b, 0.1, alpha, norm);
      auto [nl, nh, nw] = naive_dpo(b, 0.1, alpha, norm);
      EXPECT_LE(test::rel_error(fl, nl), 1e-5);
      EXPECT_LE(test::rel_error(fh, nh), 1e-5);
      EXPECT_LE(test::rel_error(fw, nw), 1e-5);
    }
  }
}

TEST(FusedDpoLoss, ReferenceFromTheSameCallGivesLn2) {
  // The reference log-probs computed by the same kernels under no-grad: loss ln 2, rewards 0.
  Batch b = make_batch();
  torch::Tensor ref;
  {
    torch::NoGradGuard no_grad;
    auto lp = kernels::fused_linear_logprobs(b.hidden, b.weight, b.labels);
    ref = kernels::sequence_logps(lp.logp, lp.valid, b.seq, 2 * b.pairs, false);
  }
  auto d = kernels::fused_dpo_loss(b.hidden, b.weight, b.labels, b.seq,
                                   DpoPairs{ref.narrow(0, 0, b.pairs), ref.narrow(0, b.pairs, b.pairs), {}, {}}, {});
  EXPECT_EQ(d.loss.item<float>(), static_cast<float>(std::log(2.0)));
  EXPECT_TRUE(d.chosen_rewards.eq(0).all().item<bool>());
}

}  // namespace
}  // namespace ec
