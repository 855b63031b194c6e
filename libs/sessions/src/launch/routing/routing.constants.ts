/** DI token for a ComplexityClassifier the app provides (e.g. from a global module). */
export const COMPLEXITY_CLASSIFIER = Symbol('JELMORE:COMPLEXITY_CLASSIFIER');

/** How long a new session waits for the classifier before it takes the default model. */
export const CLASSIFIER_TIMEOUT_MS = 2000;
