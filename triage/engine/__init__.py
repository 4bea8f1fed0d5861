"""The domain engine: the contract, the threshold guidance, features, classifier, explanation
and rationale. Plain Python with no Flask and no database, so ``training/`` and the service
score a contact with the same code."""
