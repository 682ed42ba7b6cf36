"""One-off studies: measurements made once to settle a question, each its own command
(``python -m benchmarks.studies.NAME``), kept because the report shows their CSVs.

* :mod:`~benchmarks.studies.divergence`: calibration of the divergence checks;
* :mod:`~benchmarks.studies.rvi_convergence`: RVI against VAD during training (RVI
  paper Fig. 1);
* :mod:`~benchmarks.studies.factvae_loglik`: factVAE's held-out log-likelihood on
  small training sets (factVAE paper Table 1 in spirit);
* :mod:`~benchmarks.studies.torch_compile`: ``torch.compile`` of the losses;
* :mod:`~benchmarks.studies.mi_diagnosis`: multiple-imputation draws against the
  true conditional (why they are biased or too narrow);
* :mod:`~benchmarks.studies.step_profile`: kernels and milliseconds per training
  step beside an equal-FLOP MLP;
* :mod:`~benchmarks.studies.peers_cost`: ReMasker's and DiffPuter's cost at the
  papers' settings;
* :mod:`~benchmarks.studies.demo_budget`: each method's cost in ``deepimpute
  demo``;
* :mod:`~benchmarks.studies.speed_compare`: before / after tables of speed work
  (printed, no CSV).
"""
