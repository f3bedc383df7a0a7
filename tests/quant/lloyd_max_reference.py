# Independent Lloyd-Max for density f(psi) ∝ sin^p(2 psi) on [0, pi/2], p = 2^(l-1)-1.
# mpmath, 30 digits, exact antiderivatives via sympy for the cell masses and first moments.
import mpmath as mp, sympy as sp
mp.mp.dps = 30
x = sp.symbols('x')
def lloyd(p, K):
    f = sp.sin(2*x)**p
    F0 = sp.lambdify(x, sp.integrate(f, x), 'mpmath')
    F1 = sp.lambdify(x, sp.integrate(x*f, x), 'mpmath')
    a, b = mp.mpf(0), mp.pi/2
    c = [a + (b-a)*(k+mp.mpf(1)/2)/K for k in range(K)]
    for it in range(100000):
        e = [a] + [(c[k]+c[k+1])/2 for k in range(K-1)] + [b]
        nc = [(F1(e[k+1])-F1(e[k]))/(F0(e[k+1])-F0(e[k])) for k in range(K)]
        d = max(abs(nc[k]-c[k]) for k in range(K))
        c = nc
        if d < mp.mpf('1e-22'): break
    return c, it
for l in (2, 3, 4):
    c, it = lloyd(2**(l-1)-1, 4)
    print(l, it, [mp.nstr(v, 17) for v in c])
c, it = lloyd(1, 16); print('l2 4bit', it, [mp.nstr(v, 17) for v in c])
