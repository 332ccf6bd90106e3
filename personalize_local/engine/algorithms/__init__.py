"""Building blocks of the recipes (recipes/ holds the recipes themselves): implicit ALS with exact fold-in,
sequential item neighbours, the item-metadata affinity, and the fused serving form of their hybrid."""
