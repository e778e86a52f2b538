from pages.common import not_built_yet

not_built_yet(
    "Latent space",
    "the clinician-web-app issue",
    "show the learned latent space (UMAP, t-SNE, PCA) coloured and sorted by severity.",
)
