"""Model-based meta-policy optimisation (Clavera et al. 2018)."""
