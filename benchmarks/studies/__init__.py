"""One-off studies: measurements made once to settle a question, each its own command
(``python -m benchmarks.studies.NAME``), kept because the report shows their CSVs.

* :mod:`~benchmarks.studies.divergence`: calibration of the divergence checks;
* :mod:`~benchmarks.studies.rvi_convergence`: RVI against VAD during training (RVI
  paper Fig. 1);
* :mod:`~benchmarks.studies.factvae_loglik`: factVAE's held-out log-likelihood on
  small training sets (factVAE paper Table 1 in spirit);
* :mod:`~benchmarks.studies.torch_compile`: ``torch.compile`` of the losses.
"""
