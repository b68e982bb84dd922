#pragma once
// Reversible tokenisation as the `mask` stage sees it: a value in, a token out. The store's
// vault implements it (store/vault.h): the clear value is encrypted under the vault key and
// kept behind the token; only `omniloop detokenize` turns a token back into the value.
#include <string>
#include <string_view>

namespace omniloop::privacy {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Writes the token for `clear` into `out` (replacing its content). Data path: false, with
  // `error` set, when the value cannot be tokenised.
  virtual bool tokenize(std::string_view clear, std::string& out, std::string& error) = 0;
  // Makes every token handed out since the last call durable (its vault row is committed),
  // so no event carries a token the vault cannot resolve. False with `error` on failure.
  virtual bool flush(std::string& error) = 0;
};

}  // namespace omniloop::privacy
