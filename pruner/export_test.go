package pruner

// Internals exposed to the external tests.
var (
	BracketWeights = bracketWeights
	SignedRankP    = signedRankP
)

// BracketOf returns trial n's Hyperband bracket.
func BracketOf(minRes, maxRes, rf int64, seed uint64, n int) int {
	return bracket(bracketWeights(minRes, maxRes, rf), seed, n)
}
