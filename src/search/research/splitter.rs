//! The heuristic splitter: a question that joins several questions becomes
//! those questions.
//!
//! - The question is cut where a new question starts: at `?`, `!`, `;`
//!   and line breaks (not at `.`, which abbreviations and names hold:
//!   "Dr. Seuss", "the U.S."), and before a question word (`what`,
//!   `where`, `how`, …) that follows a comma or a conjunction (`and`,
//!   `or`, `but`, `then`): "Who wrote the parser and where is it tested?"
//!   gives "Who wrote the parser" and "where is it tested". A plain `and`
//!   between two words is never cut ("Caroline and Melanie").
//! - A piece is kept only if it is a question of its own: it starts with
//!   a question word or an auxiliary verb (`is`, `did`, `can`, …) and has
//!   at least [`MIN_CLAUSE_WORDS`] words. "According to Gina, what makes
//!   Jon a mentor?" stays whole.
//! - Fewer than two such pieces: the question is not split. At most
//!   [`MAX_CLAUSES`] pieces; duplicates (in any case) once.
//!
//! The entities a question names are not searched on their own: measured
//! on the LoCoMo development split, such probes lowered R@10
//! (docs/BENCHMARKS.md), and graph expansion already starts from them.

/// The most clauses kept (the whole question comes on top of them).
pub const MAX_CLAUSES: usize = 5;
/// The fewest words a clause needs to be searched on its own.
pub const MIN_CLAUSE_WORDS: usize = 3;

/// Words that start a question: after a comma or a conjunction, a new
/// clause starts there.
const QUESTION_WORDS: [&str; 9] = [
    "what", "who", "whom", "whose", "where", "when", "why", "how", "which",
];
/// Verbs a yes-no question starts with.
const AUXILIARIES: [&str; 17] = [
    "is", "are", "was", "were", "do", "does", "did", "can", "could", "should", "would", "will",
    "has", "have", "had", "may", "must",
];
/// Conjunctions that may join two questions.
const CONJUNCTIONS: [&str; 4] = ["and", "or", "but", "then"];

/// The questions `question` joins, in order, when it joins at least two;
/// else none.
pub fn split(question: &str) -> Vec<String> {
    let mut clauses: Vec<String> = Vec::new();
    for sentence in sentences(question) {
        for clause in cut_before_question_words(&sentence) {
            let key = clause.to_lowercase();
            if is_question(&clause) && clauses.iter().all(|c| c.to_lowercase() != key) {
                clauses.push(clause);
            }
        }
    }
    if clauses.len() < 2 {
        return Vec::new();
    }
    clauses.truncate(MAX_CLAUSES);
    clauses
}

/// `text` cut at `?`, `!`, `;` and line breaks.
fn sentences(text: &str) -> Vec<String> {
    text.split(['?', '!', ';', '\n', '\r'])
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// `sentence` cut before each question word that follows a comma or a
/// conjunction; the comma and the conjunction are dropped.
fn cut_before_question_words(sentence: &str) -> Vec<String> {
    let words: Vec<&str> = sentence.split_whitespace().collect();
    let mut out = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for (i, &word) in words.iter().enumerate() {
        let conjunction = CONJUNCTIONS.contains(&bare(word).as_str());
        let next_is_question = words
            .get(i + 1)
            .is_some_and(|w| QUESTION_WORDS.contains(&bare(w).as_str()));
        if conjunction && next_is_question && !current.is_empty() {
            out.push(current.join(" "));
            current.clear();
        } else if word.ends_with(',') && next_is_question {
            current.push(word.trim_end_matches(','));
            out.push(current.join(" "));
            current.clear();
        } else {
            current.push(word);
        }
    }
    out.push(current.join(" "));
    out.into_iter()
        .map(|clause| {
            clause
                .trim_matches(|c: char| c == ',' || c.is_whitespace())
                .to_owned()
        })
        .filter(|clause| !clause.is_empty())
        .collect()
}

/// Whether `clause` reads as a question: it starts with a question word
/// or an auxiliary verb and has at least [`MIN_CLAUSE_WORDS`] words.
fn is_question(clause: &str) -> bool {
    let words: Vec<String> = clause
        .split_whitespace()
        .map(bare)
        .filter(|w| !w.is_empty())
        .collect();
    words.len() >= MIN_CLAUSE_WORDS
        && words.first().is_some_and(|first| {
            QUESTION_WORDS.contains(&first.as_str()) || AUXILIARIES.contains(&first.as_str())
        })
}

/// A word lowercased, without the punctuation around it.
fn bare(word: &str) -> String {
    word.trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_simple_question_is_not_split() {
        for question in [
            "What did Caroline and Melanie paint?",
            "When did Melanie paint a sunrise?",
            "Which crates does the parser use, and why",
            "How do v1.2 and src/main.rs differ?",
            "Would she read Dr. Seuss books? Which ones",
            "According to Gina, what makes Jon a perfect mentor and guide?",
            "Where and when did it happen?",
            "The build broke; which commit fixed it?",
        ] {
            assert!(split(question).is_empty(), "{question}");
        }
    }

    #[test]
    fn joined_questions_are_cut_where_a_new_one_starts() {
        assert_eq!(
            split("Who wrote the parser and where is it tested?"),
            ["Who wrote the parser", "where is it tested"]
        );
        assert_eq!(
            split("What broke the build? Which commit fixed it; when was it released"),
            [
                "What broke the build",
                "Which commit fixed it",
                "when was it released"
            ]
        );
        assert_eq!(
            split("What is the cache size, how is it chosen"),
            ["What is the cache size", "how is it chosen"]
        );
        assert_eq!(
            split("Is the cache on by default?\nCan it be turned off?"),
            ["Is the cache on by default", "Can it be turned off"]
        );
    }

    #[test]
    fn the_count_is_bounded_and_duplicates_count_once() {
        let many = "What is a? What is b? What is c? What is d? What is e? What is f?";
        let found = split(many);
        assert_eq!(found.len(), MAX_CLAUSES);
        assert_eq!(found[4], "What is e");
        assert!(split("Who is Ana? who is ana").is_empty());
    }
}
