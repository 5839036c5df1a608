// The scenarios' vocabulary (search, soak): word `rank` written in base 20 with syllables, so
// every word is distinct and none is a stem of another.
#pragma once

#include <string>

namespace parley::bench {

inline std::string Word(int rank) {
  static constexpr const char* kSyllables[] = {"ba", "ko", "ri", "mu", "te", "sa", "lo", "ni",
                                               "pe", "du", "ga", "vi", "zo", "ha", "fe", "yu",
                                               "ki", "ro", "ma", "ta"};
  std::string w;
  int n = rank;
  do {
    w += kSyllables[n % 20];
    n /= 20;
  } while (n > 0);
  return w + "n";  // a closing consonant: "ban", "kobon", ...
}

}  // namespace parley::bench
