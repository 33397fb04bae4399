"""What the experiments share, one concern per module.

``data`` (the dataset from the config), ``teacher`` (the one teacher path,
fingerprint-checked), ``workdir`` (a run folder is claimed before anything is
written), ``options`` (config checks naming the field), ``methods`` (the
explainers the experiments compare), ``targets`` (what each image is explained
for), ``stats`` (confidence intervals, paired differences, ranks), ``findings``
(published claims and verdicts), ``tables`` (markdown tables from rows) and
``results`` (strict JSON, stage timings, the environment).
"""
