// Compiles the example and test guests (AssemblyScript and WAT) into build/guests/.
console.log('build-examples: no guests yet');
